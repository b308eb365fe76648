// Entry glue for componentize-js (StarlingMonkey). The prelude binds the WIT
// imports to the SDK before the project's module (`flowhost:user-entry`,
// resolved by the build) is evaluated; then its executor is exported.
import './prelude-starlingmonkey.js';
import { exportExecutor } from 'flowhost';
import { warmUp } from '../src/warmup.js';
import * as user from 'flowhost:user-entry';

export const executor = exportExecutor(user);

// This top level runs at build time, before componentize-js snapshots the
// engine: compile the SDK's paths into the snapshot (src/warmup.js).
warmUp();

// Entry glue for componentize-qjs (QuickJS). The prelude binds the WIT imports
// to the SDK and defines `console` before the project's module
// (`flowhost:user-entry`, resolved by the build) is evaluated.
import './prelude-quickjs.js';
import { exportExecutor } from 'flowhost';
import * as user from 'flowhost:user-entry';

export const executor = exportExecutor(user);

// Binds StarlingMonkey's WIT imports to the SDK (it has console and crypto).
import { log } from 'flowhost:executor/logging@0.1.0';
import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';
import { bindHost } from 'flowhost';

bindHost({ engine: 'starlingmonkey', async: true, log, getDirectories, u64: BigInt });

// Stands in for the host's flowhost:executor/logging import in abi_check.mjs.
export const logs = [];
export function log(level, message) {
    logs.push([level, message]);
}

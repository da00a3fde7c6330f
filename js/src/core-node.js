// `creditpool/core` in Node: loads the module as the main entry does, then
// exports the low-level machinery.
import './node.js';

export * from './lowlevel.js';

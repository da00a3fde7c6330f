// `creditpool/core` in browsers: loads the module as the main entry does,
// then exports the low-level machinery.
import './browser.js';

export * from './lowlevel.js';

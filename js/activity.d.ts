// `creditpool/activity`: renderActivity alone, without loading the wasm
// module (for a page that draws a spec made elsewhere, e.g. on a server).
export { renderActivity, MissingDependencyError, type ActivityView, type VegaLiteSpec } from './index.js';

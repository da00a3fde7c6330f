// Facts about the host, set once by the entry point (node.js or browser.js).
export const runtime = {
  /** `"node"` or `"browser"` (also `"browser"` for other hosts using that entry). */
  name: 'unknown',
  /** Whether the code runs in a browser page or worker. */
  browser: false,
  /** Reads an environment variable (Node only). */
  env: (_name) => undefined,
  /** Appends text to a file (Node only; undefined elsewhere). */
  appendFile: undefined,
  /** A file's text, or null if it does not exist (Node only). */
  readFile: undefined,
  /** Takes a ledger file's lock for this process and returns its absolute path; throws `{code: 'ELOCKED', pid}` (Node only). */
  lockFile: undefined,
};

// The root of every error creditpool throws. The other classes come from the
// core's table (classes.js, generated); errors.js adds the package's own and
// the deprecated aliases.

/** The base class of every error creditpool throws. */
export class CreditpoolError extends Error {
  /**
   * @param {string} message
   * @param {object} [fields] `code`, `type` and any structured fields.
   */
  constructor(message, fields = {}) {
    super(message);
    this.name = new.target.name;
    /** The core's stable error code (see docs/errors.md). */
    this.code = fields.code ?? new.target.defaultCode ?? fields.type ?? 'creditpool_error';
    /** The kind the package has always reported (kept for compatibility; prefer `code`). */
    this.type = fields.type ?? this.code;
    for (const [key, value] of Object.entries(fields)) {
      if (key !== 'type' && key !== 'code' && key !== 'message' && key !== 'name' && key !== 'stack') this[key] = value;
    }
  }

  /** The error as a plain object: `code`, `type`, `name`, `message` and its fields. */
  toJSON() {
    const out = { code: this.code, type: this.type, name: this.name, message: this.message };
    for (const [key, value] of Object.entries(this)) {
      if (!(key in out)) out[key] = value;
    }
    return out;
  }
}

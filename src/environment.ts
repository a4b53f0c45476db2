/**
 * The environment as the parsers read it: variable name to value, `undefined`
 * for an unset variable. Pass `process.env`, `Deno.env.toObject()` or a literal.
 */
export type Environment = Readonly<Record<string, string | undefined>>;

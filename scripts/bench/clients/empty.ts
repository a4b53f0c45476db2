/**
 * The bare runtime start: a script that does nothing.
 *
 * @module
 */
export {};

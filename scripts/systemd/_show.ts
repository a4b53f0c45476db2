/**
 * Parses the output of `systemctl show` for one unit (`Name=value` lines) into a record.
 *
 * The value is everything after the first `=`, so values that hold `=` survive. Empty
 * lines and lines without `=` are skipped; when a name repeats, the first one wins.
 *
 * @param text stdout of `systemctl --user show UNIT [-p NAME]…`
 * @returns the properties by name
 *
 * @example Read two properties
 * ```ts
 * const props = parseShowOutput("SubState=running\nStatusText=a=b\n");
 * console.log(props.SubState, props.StatusText); // running a=b
 * ```
 */
export function parseShowOutput(text: string): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const equals = line.indexOf("=");
    if (equals <= 0) continue;
    const name = line.slice(0, equals);
    if (!Object.hasOwn(properties, name)) properties[name] = line.slice(equals + 1);
  }
  return properties;
}

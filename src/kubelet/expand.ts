// Kubernetes' $(VAR) expansion in env values, command and args: $(NAME) becomes the variable's
// value when defined and stays literally otherwise; $$ escapes a dollar ($$(X) gives "$(X)").

export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        // Unterminated reference: kept as written.
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const value = name ? lookup(name) : undefined;
      out += value ?? `$(${name})`;
      i = close;
      continue;
    }
    // A lone "$" before anything else stays as it is.
    out += ch;
  }
  return out;
}

export function mappingFrom(...sources: Array<ReadonlyMap<string, string> | Record<string, string>>): (name: string) => string | undefined {
  return (name) => {
    for (let i = sources.length - 1; i >= 0; i--) {
      const s = sources[i]!;
      const v = s instanceof Map ? s.get(name) : (s as Record<string, string>)[name];
      if (v !== undefined) return v;
    }
    return undefined;
  };
}

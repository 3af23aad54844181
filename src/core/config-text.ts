import { parseDocument } from 'yaml';
import { validateConfig, type Config } from './config.ts';
import { ConfigError } from './errors.ts';

/**
 * Parses and validates config text (YAML, and so JSON too); throws `ConfigError` listing every
 * problem found. `source` names where the text came from in the error.
 */
export function parseConfigText(text: string, source: string): Config {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(document.errors.map((error) => `YAML: ${error.message.split('\n')[0]}`), source);
  }
  let data: unknown;
  try {
    data = document.toJS();
  } catch (error) {
    // The yaml library refuses documents whose aliases would expand without bound (a "billion laughs").
    throw new ConfigError([`YAML: ${error instanceof Error ? error.message : String(error)}`], source);
  }
  const result = validateConfig(data);
  if ('problems' in result) throw new ConfigError(result.problems, source);
  return result.config;
}

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Config } from '../core/config.ts';
import { parseConfigText } from '../core/config-text.ts';
import { ConfigError } from '../core/errors.ts';
import { tlsFileProblems, withAbsoluteTlsPaths } from './tls-files.ts';

/** Reads and validates a YAML config; throws `ConfigError` listing every problem found. */
export async function loadConfigFile(file: string): Promise<Config> {
  const path = isAbsolute(file) ? file : resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`], file);
  }
  // Relative certificate paths are relative to the config file, wherever edgelb is started from.
  const config = withAbsoluteTlsPaths(parseConfigText(text, file), dirname(path));
  const problems = await tlsFileProblems(config);
  if (problems.length > 0) throw new ConfigError(problems, file);
  return config;
}

export const LOG_FORMATS = ['combined', 'common', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** One entry of SHIPPER_FILES: a path or glob and the format its lines are in. */
export interface FileSpec {
  readonly pattern: string;
  readonly format: LogFormat;
}

export type FileSpecResult = { readonly ok: true; readonly value: FileSpec[] } | { readonly ok: false; readonly reason: string };

const prefixed = /^(combined|common|json):(.+)$/;

/**
 * Parses `PATH_OR_GLOB` or `FORMAT:PATH_OR_GLOB`, comma-separated. Only the three format names
 * count as a prefix, so a path with a colon elsewhere in it is still a path.
 */
export function parseFileSpecs(text: string, defaultFormat: LogFormat): FileSpecResult {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) return { ok: false, reason: 'must name at least one file or glob' };
  const specs: FileSpec[] = [];
  for (const entry of entries) {
    const match = prefixed.exec(entry);
    const pattern = (match?.[2] ?? entry).trim();
    if (/^[A-Za-z]+:/.test(entry) && !match && !/^[A-Za-z]:[\\/]/.test(entry)) {
      return { ok: false, reason: `entry "${entry}" has an unknown format (use ${LOG_FORMATS.join(', ')})` };
    }
    if (pattern.length === 0) return { ok: false, reason: `entry "${entry}" has no path` };
    specs.push({ pattern, format: (match?.[1] as LogFormat | undefined) ?? defaultFormat });
  }
  return { ok: true, value: specs };
}

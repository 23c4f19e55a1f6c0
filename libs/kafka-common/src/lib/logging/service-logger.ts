import { ConsoleLogger, LogLevel } from '@nestjs/common';

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** One JSON object per line on stdout, at or above `level`. */
export function createServiceLogger(service: string, level: LogLevel = 'log'): ConsoleLogger {
  const logLevels = LEVELS.slice(0, LEVELS.indexOf(level) + 1);
  return new ConsoleLogger(service, { json: true, logLevels, colors: false });
}

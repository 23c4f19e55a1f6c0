import { z } from 'zod';
import { defineContract } from './contract';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Field bounds, shared with the generator and the bad-input fixtures. */
export const WEB_LOG_LIMITS = {
  urlMaxLength: 2048,
  userAgentMaxLength: 1024,
  statusCodeMin: 100,
  statusCodeMax: 599,
} as const;

// Printable text only: control characters in a log line are how log-injection starts.
const printable = /^[^\p{Cc}]*$/u;

const url = z
  .string()
  .min(1)
  .max(WEB_LOG_LIMITS.urlMaxLength)
  .startsWith('/', { message: 'url must be a path starting with /' })
  .regex(printable, { message: 'url must not contain control characters' });

const userAgent = z
  .string()
  .min(1)
  .max(WEB_LOG_LIMITS.userAgentMaxLength)
  .regex(printable, { message: 'user_agent must not contain control characters' });

export const webLogShape = {
  event_id: z.uuid(),
  ip: z.union([z.ipv4(), z.ipv6()]),
  timestamp: z.iso.datetime(),
  method: z.enum(HTTP_METHODS),
  url,
  status_code: z.int().min(WEB_LOG_LIMITS.statusCodeMin).max(WEB_LOG_LIMITS.statusCodeMax),
  user_agent: userAgent,
};

/** Value of `input-topic`: one web-access log line as the generator produced it. */
export const WebLogContract = defineContract('WebLog', z.strictObject(webLogShape));
export type WebLog = z.infer<typeof WebLogContract.schema>;

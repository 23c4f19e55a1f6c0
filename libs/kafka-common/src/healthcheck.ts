/**
 * Container healthcheck: exits 0 when the service on $PORT answers /health/ready, 1 otherwise.
 * Images have no curl or wget; `node libs/kafka-common/dist/healthcheck.js` needs nothing else.
 */
const port = process.env['PORT'];
const timeoutMs = Number(process.env['HEALTHCHECK_TIMEOUT_MS'] ?? 2500);

async function main(): Promise<number> {
  if (!port || !/^\d{1,5}$/.test(port)) {
    process.stderr.write(`healthcheck: PORT must be the service's port (got ${JSON.stringify(port ?? '')})\n`);
    return 1;
  }
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    if (response.ok) return 0;
    process.stderr.write(`healthcheck: /health/ready answered ${response.status}\n`);
  } catch (error) {
    process.stderr.write(`healthcheck: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  return 1;
}

void main().then((code) => process.exit(code));

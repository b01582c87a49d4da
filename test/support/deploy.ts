import type { Env } from '@app/config';
import { load, loadAll } from 'js-yaml';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const KUSTOMIZE_BASE = join(ROOT, 'deploy', 'kubernetes');

/** The one-shot `cli migrate` (apps/api/src/cli.ts): pending migrations under a lock, then exit 0. */
export const MIGRATE_COMMAND = ['node', 'dist/apps/api/apps/api/src/cli.js', 'migrate'];

const INSTALL: Record<string, string> = {
  kubectl:
    'kubectl renders deploy/kubernetes (`kubectl kustomize`, no cluster needed). Install it: ' +
    '`apt-get install -y kubernetes-client` on Debian, or any kubectl 1.20 or later on PATH.',
  'docker-compose':
    'docker-compose validates docker-compose.yml (`docker-compose config`, no engine needed). ' +
    'Install it: `apt-get install -y docker-compose` on Debian.',
};

/** Runs a deployment tool; a missing tool fails with how to install it (the test never skips). */
export function runTool(tool: string, args: string[], options: { cwd?: string; env?: Env } = {}) {
  const result = spawnSync(tool, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? { PATH: process.env.PATH },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const error: NodeJS.ErrnoException | undefined = result.error;
  if (error?.code === 'ENOENT') throw new Error(`${tool} is not installed. ${INSTALL[tool] ?? ''}`);
  if (error) throw error;
  if (result.status !== 0) {
    throw new Error(`${tool} ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  }
  return { stdout: result.stdout, stderr: result.stderr };
}

export interface HttpProbe {
  httpGet?: { path: string; port: string | number };
  exec?: unknown;
  periodSeconds?: number;
  failureThreshold?: number;
}

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  startupProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    containers: Container[];
    securityContext?: SecurityContext;
    terminationGracePeriodSeconds?: number;
    restartPolicy?: string;
    volumes?: { name: string; emptyDir?: object }[];
  };
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    template?: PodTemplate;
    ports?: { name?: string; port: number; targetPort: string | number }[];
    scaleTargetRef?: { apiVersion: string; kind: string; name: string };
    minReplicas?: number;
    maxReplicas?: number;
    minAvailable?: number | string;
    maxUnavailable?: number | string;
  };
}

/** `kubectl kustomize DIR`, parsed. */
export function kustomize(dir: string): K8sObject[] {
  return (loadAll(runTool('kubectl', ['kustomize', dir]).stdout) as (K8sObject | null)[]).filter(
    (o): o is K8sObject => o !== null,
  );
}

/**
 * Renders an overlay of the base written in a temporary directory (what docs/deployment.md
 * tells operators to do). kubectl before 1.21 (kustomize v2, Debian's kubernetes-client) takes a
 * directory only under `bases:`; later ones under `resources:`.
 */
export function kustomizeOverlay(overlay: Record<string, unknown>): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'chatbot-overlay-'));
  try {
    const version = load(runTool('kubectl', ['version', '--client', '-o', 'json']).stdout) as {
      clientVersion: { minor: string };
    };
    const key = parseInt(version.clientVersion.minor, 10) < 21 ? 'bases' : 'resources';
    const kustomization = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      [key]: [relative(dir, KUSTOMIZE_BASE)],
      ...overlay,
    };
    writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(kustomization));
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string | null>;
  healthcheck?: { test: string[]; disable?: boolean };
  ports?: ({ published: number | string; target: number } | string)[];
  volumes?: (string | { target: string })[];
  stop_grace_period?: string;
}

/**
 * `docker-compose config` on the repository's file, parsed: with an empty env file (a developer's
 * .env must not change what the test sees) and only the variables given.
 */
export function composeConfig(vars: Env): { services: Record<string, ComposeService> } {
  const dir = mkdtempSync(join(tmpdir(), 'chatbot-compose-'));
  try {
    const envFile = join(dir, 'empty.env');
    writeFileSync(envFile, '');
    const { stdout } = runTool(
      'docker-compose',
      ['--env-file', envFile, '-f', join(ROOT, 'docker-compose.yml'), 'config'],
      { env: { PATH: process.env.PATH, ...vars } },
    );
    return load(stdout) as { services: Record<string, ComposeService> };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every variable the configuration loader reads: .env.example, which env-example.spec.ts keeps complete. */
export function knownEnvNames(): Set<string> {
  const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
  const names = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
  // docker-compose.yml's own, not the app's (env-example.spec.ts allows it the same way).
  return new Set(names.filter((name) => name !== 'MYSQL_ROOT_PASSWORD'));
}

/** The source file a compiled entry (`dist/apps/api/apps/api/src/main.js`) is built from. */
export function sourceOfEntry(compiled: string): string | undefined {
  const match = /^dist\/apps\/[^/]+\/(.+)\.js$/.exec(compiled);
  const source = match && join(ROOT, `${match[1]}.ts`);
  return source && existsSync(source) ? source : undefined;
}

/** The `CMD [...]` of the Dockerfile's last stage and the path its HEALTHCHECK asks for. */
export function dockerfile(): { cmd: string[]; healthPath: string; bases: string[] } {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(text)?.[1] ?? '[]') as string[];
  const healthPath = /^HEALTHCHECK[^]*?(\/health\/\w+)/m.exec(text)?.[1] ?? '';
  const bases = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  return { cmd, healthPath, bases };
}

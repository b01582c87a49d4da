import { ConfigValidationError, Env, loadConfig } from '@app/config';
import { load } from 'js-yaml';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { TEST_DATABASES } from './support/databases';
import {
  ComposeService,
  composeConfig,
  Container,
  dockerfile,
  HttpProbe,
  K8sObject,
  knownEnvNames,
  kustomize,
  kustomizeOverlay,
  KUSTOMIZE_BASE,
  MIGRATE_COMMAND,
  PodTemplate,
  sourceOfEntry,
} from './support/deploy';
import { useApp } from './support/use-app';

const known = knownEnvNames();
const JWT_SECRET = 'a-real-secret-of-at-least-32-bytes-for-the-test';

/** The one object of that kind (and component label), failing with what was rendered. */
function one(objects: K8sObject[], kind: string, component?: string): K8sObject {
  const found = objects.filter(
    (o) =>
      o.kind === kind &&
      (component === undefined || o.metadata.labels?.['app.kubernetes.io/component'] === component),
  );
  if (found.length !== 1) {
    const seen = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`Expected one ${kind} ${component ?? ''}, got ${found.length} among ${seen}`);
  }
  return found[0];
}

const podOf = (o: K8sObject): PodTemplate => o.spec!.template!;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('Kubernetes base (kubectl kustomize deploy/kubernetes)', () => {
  let objects: K8sObject[];
  let api: K8sObject, worker: K8sObject, job: K8sObject, configMap: K8sObject;
  let secretExample: K8sObject;
  /** ConfigMap + the example Secret with a real JWT secret: what a pod's environment holds. */
  let podEnv: Env;

  beforeAll(() => {
    objects = kustomize(KUSTOMIZE_BASE);
    api = one(objects, 'Deployment', 'api');
    worker = one(objects, 'Deployment', 'worker');
    job = one(objects, 'Job', 'migrate');
    configMap = one(objects, 'ConfigMap');
    secretExample = load(
      readFileSync(join(KUSTOMIZE_BASE, 'secret.example.yaml'), 'utf8'),
    ) as K8sObject;
    podEnv = { ...configMap.data, ...secretExample.stringData, JWT_SECRET };
  });
  const workloads = () => [api, worker, job];
  const apiContainer = (): Container => podOf(api).spec.containers[0];

  it('renders the API, worker, migration Job, Service, ConfigMap, HPA and PDB, and no Secret', () => {
    const kinds = objects.map((o) => `${o.apiVersion} ${o.kind}`).sort();
    expect(kinds).toEqual(
      [
        'apps/v1 Deployment',
        'apps/v1 Deployment',
        'autoscaling/v2 HorizontalPodAutoscaler',
        'batch/v1 Job',
        'policy/v1 PodDisruptionBudget',
        'v1 ConfigMap',
        'v1 Service',
      ].sort(),
    );
    expect(api.spec!.replicas).toBeGreaterThanOrEqual(2);
    // The example is never applied from the base; the workloads read the Secret it describes.
    expect(secretExample.kind).toBe('Secret');
    for (const w of workloads()) {
      for (const c of podOf(w).spec.containers) {
        expect(c.envFrom).toEqual([
          { configMapRef: { name: configMap.metadata.name } },
          { secretRef: { name: secretExample.metadata.name } },
        ]);
      }
    }
  });

  it('selects the API pods, and only them, from the Service, the PDB and the HPA', () => {
    const apiLabels = podOf(api).metadata.labels;
    const workerLabels = podOf(worker).metadata.labels;
    for (const d of [api, worker]) {
      expect(matches(d.spec!.selector!.matchLabels!, podOf(d).metadata.labels)).toBe(true);
    }
    const service = one(objects, 'Service');
    const pdb = one(objects, 'PodDisruptionBudget');
    for (const selector of [service.spec!.selector!, pdb.spec!.selector!.matchLabels!]) {
      expect(matches(selector, apiLabels)).toBe(true);
      expect(matches(selector, workerLabels)).toBe(false);
    }
    expect(matches(api.spec!.selector!.matchLabels!, workerLabels)).toBe(false);
    expect(pdb.spec!.minAvailable).toBe(1);
    const hpa = one(objects, 'HorizontalPodAutoscaler');
    expect(hpa.spec!.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: api.metadata.name,
    });
    expect(hpa.spec!.minReplicas).toBeGreaterThanOrEqual(2);
    // A PDB of one with a single replica would block every node drain.
    expect(hpa.spec!.minReplicas).toBeGreaterThan(Number(pdb.spec!.minAvailable));
  });

  it("listens, exposes and probes the one port the app's configuration gives", () => {
    const config = loadConfig(podEnv);
    const [port] = apiContainer().ports!;
    expect(port).toEqual({ name: 'http', containerPort: config.http.port, protocol: 'TCP' });
    expect(config.http.host).toBe('0.0.0.0');
    const [servicePort] = one(objects, 'Service').spec!.ports!;
    expect([port.name, port.containerPort]).toContain(servicePort.targetPort);
    const c = apiContainer();
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
      expect([port.name, port.containerPort]).toContain(probe!.httpGet!.port);
    }
  });

  it('probes liveness on /health/live and readiness on /health/ready; the worker has no probes', () => {
    const c = apiContainer();
    expect(c.startupProbe!.httpGet!.path).toBe('/health/live');
    expect(c.livenessProbe!.httpGet!.path).toBe('/health/live');
    expect(c.readinessProbe!.httpGet!.path).toBe('/health/ready');
    // No HTTP server in the worker: nothing to ask (see worker-deployment.yaml).
    const w = podOf(worker).spec.containers[0];
    expect([w.ports, w.startupProbe, w.livenessProbe, w.readinessProbe]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('runs every pod as a numeric non-root user, read-only, without privileges', () => {
    for (const w of workloads()) {
      const pod = podOf(w).spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
      expect(pod.securityContext!.runAsUser).toBeGreaterThan(0);
      const emptyDirs = new Set(pod.volumes!.filter((v) => v.emptyDir).map((v) => v.name));
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.securityContext!.capabilities!.add).toBeUndefined();
        // Where the app writes: the temporary directory and DATA_DIR (Mem0's files).
        const writable = c
          .volumeMounts!.filter((m) => emptyDirs.has(m.name) && !m.readOnly)
          .map((m) => m.mountPath);
        expect(writable.sort()).toEqual([loadConfig(podEnv).dataDir, '/tmp'].sort());
        expect(c.image).toBe('memory-chatbot-backend');
      }
    }
  });

  it('gives a stopping pod time to drain, finish its requests and return its jobs', () => {
    const config = loadConfig(podEnv);
    const drain = config.http.shutdownDrainSeconds;
    const jobGrace = config.memoryJobs.shutdownGraceMs / 1000;
    const readiness = apiContainer().readinessProbe as Required<HttpProbe>;
    // Readiness must have failed everywhere before the server stops accepting.
    expect(drain).toBeGreaterThan(readiness.periodSeconds * readiness.failureThreshold);
    const apiGrace = podOf(api).spec.terminationGracePeriodSeconds!;
    expect(apiGrace).toBeGreaterThanOrEqual(drain + jobGrace + config.openai.timeoutMs / 1000);
    expect(podOf(worker).spec.terminationGracePeriodSeconds).toBeGreaterThan(jobGrace);
  });

  it('configures only variables the loader reads, valid together, with workers and migrations split off', () => {
    expect(Object.keys(configMap.data!).filter((n) => !known.has(n))).toEqual([]);
    expect(Object.keys(secretExample.stringData!).filter((n) => !known.has(n))).toEqual([]);
    const config = loadConfig(podEnv);
    expect(config.nodeEnv).toBe('production');
    expect(config.database.kind).toBe('mysql');
    expect(config.database.migrationsRun).toBe(false);
    expect(config.memoryJobs.workersEnabled).toBe(false);
    // Applied unchanged, the example must not start a pod with a known secret.
    expect(() => loadConfig({ ...configMap.data, ...secretExample.stringData })).toThrow(
      ConfigValidationError,
    );
    expect(() => loadConfig({ ...configMap.data, ...secretExample.stringData })).toThrow(
      /JWT_SECRET/,
    );
  });

  it('runs the migrate command once in the Job, and entry files that exist', () => {
    const [migrate] = podOf(job).spec.containers;
    expect(migrate.command).toEqual(MIGRATE_COMMAND);
    expect(migrate.args).toBeUndefined();
    expect(podOf(job).spec.restartPolicy).toMatch(/^(OnFailure|Never)$/);
    for (const w of workloads()) {
      const [c] = podOf(w).spec.containers;
      expect(c.command![0]).toBe('node');
      expect(sourceOfEntry(c.command![1])).toBeDefined();
    }
    // The API runs what the image runs by default.
    expect(apiContainer().command).toEqual(dockerfile().cmd);
  });

  it('lets an overlay replace the image of every workload with `images:`', () => {
    const rendered = kustomizeOverlay({
      images: [
        {
          name: 'memory-chatbot-backend',
          newName: 'registry.example.com/team/memory-chatbot-backend',
          newTag: '1.2.3',
        },
      ],
    });
    const images = rendered
      .filter((o) => o.spec?.template)
      .flatMap((o) => podOf(o).spec.containers.map((c) => c.image));
    expect(images).toEqual(Array(3).fill('registry.example.com/team/memory-chatbot-backend:1.2.3'));
  });
});

describe('docker-compose.yml (docker-compose config)', () => {
  let services: Record<string, ComposeService>;
  const appServices = ['migrate', 'api', 'worker'];

  beforeAll(() => {
    services = composeConfig({ JWT_SECRET }).services;
  });

  it('runs MySQL 8.4, Redis 7, migrations once, the API and the worker; Qdrant only by profile', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'migrate', 'mysql', 'qdrant', 'redis', 'worker'].sort(),
    );
    expect(services.mysql.image).toBe('mysql:8.4');
    expect(services.redis.image).toMatch(/^redis:7(\.|$)/);
    expect(services.qdrant.profiles).toEqual(['qdrant']);
    for (const name of Object.keys(services).filter((n) => n !== 'qdrant')) {
      expect(services[name].profiles).toBeUndefined();
    }
    const images = new Set(appServices.map((s) => services[s].image));
    expect(images.size).toBe(1);
  });

  it('starts the API and the worker after healthy dependencies and a successful migrate', () => {
    expect(services.migrate.command).toEqual(MIGRATE_COMMAND);
    expect(services.migrate.depends_on).toEqual({ mysql: { condition: 'service_healthy' } });
    expect(services.api.depends_on).toEqual({
      mysql: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' },
    });
    expect(services.worker.depends_on).toMatchObject({
      mysql: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' },
    });
    for (const name of ['mysql', 'redis', 'api']) {
      expect(services[name].healthcheck?.test?.length).toBeGreaterThan(0);
      expect(services[name].healthcheck!.test[0]).not.toBe('NONE');
    }
    // The image's HEALTHCHECK asks an HTTP server that these never start.
    for (const name of ['migrate', 'worker']) {
      expect(services[name].healthcheck!.test).toEqual(['NONE']);
    }
    for (const name of appServices) {
      expect(sourceOfEntry(services[name].command![1])).toBeDefined();
      expect(services[name].environment!.DB_MIGRATIONS_RUN).toBe('false');
    }
    expect(services.api.environment!.MEMORY_WORKERS_ENABLED).toBe('false');
  });

  it('publishes the port the API listens on and passes only variables the loader reads', () => {
    const config = loadConfig(services.api.environment as Env);
    expect(services.api.ports).toEqual([
      expect.objectContaining({ target: config.http.port, published: config.http.port }),
    ]);
    expect(config.database.kind).toBe('mysql');
    for (const name of appServices) {
      const names = Object.keys(services[name].environment!);
      expect(names.filter((n) => !known.has(n))).toEqual([]);
    }
  });

  it('points the app at Qdrant when VECTOR_STORE=qdrant, and refuses to run without JWT_SECRET', () => {
    expect(services.api.environment!.VECTOR_STORE).toBe('');
    const withQdrant = composeConfig({ JWT_SECRET, VECTOR_STORE: 'qdrant' }).services;
    for (const name of appServices) {
      expect(withQdrant[name].environment).toMatchObject({
        VECTOR_STORE: 'qdrant',
        QDRANT_URL: 'http://qdrant:6333',
      });
    }
    expect(() => composeConfig({})).toThrow(/JWT_SECRET/);
  });
});

describe('Dockerfile', () => {
  it('builds and runs on one Node 24 Debian image', () => {
    const { bases } = dockerfile();
    expect(bases).toEqual(['node:24-bookworm-slim', 'node:24-bookworm-slim']);
  });
});

describe('probe paths against the running app', () => {
  const t = useApp(TEST_DATABASES[0]);

  it('serves every path a probe or healthcheck asks for', async () => {
    const rendered = kustomize(KUSTOMIZE_BASE);
    const probes = rendered
      .filter((o) => o.spec?.template)
      .flatMap((o) => podOf(o).spec.containers)
      .flatMap((c) => [c.startupProbe, c.livenessProbe, c.readinessProbe])
      .flatMap((p) => (p?.httpGet ? [p.httpGet.path] : []));
    const compose = composeConfig({ JWT_SECRET }).services;
    const healthchecks = Object.values(compose)
      .flatMap((s) => s.healthcheck?.test ?? [])
      .flatMap((arg) => [...arg.matchAll(/127\.0\.0\.1:\d+(\/[\w/]+)/g)].map((m) => m[1]));
    const paths = [...new Set([...probes, ...healthchecks, dockerfile().healthPath])].sort();
    expect(paths).toEqual(['/health/live', '/health/ready']);
    for (const path of paths) {
      const res = await t.http().get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
  });
});

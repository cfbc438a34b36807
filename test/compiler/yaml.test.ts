import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { toYaml } from '../../lib/compiler/yaml.js';

describe('toYaml', () => {
  it('round-trips any JSON value through a YAML 1.2 parser', () => {
    // GIVEN arbitrary JSON data WHEN written and read back THEN it is the same data
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(parse(toYaml(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips strings made of YAML-significant characters', () => {
    const tricky = fc.array(fc.constantFrom('a', ' ', ':', '#', '-', '\n', '\t', '"', "'", '|', '>', '{', '[', ',', '*', '&', '!', '%', '@', '`', '?', '0', '.', 'e', '\u2028', '\u0085', 'é'), { maxLength: 12 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(fc.dictionary(tricky, tricky), fc.array(tricky), (map, list) => {
        expect(parse(toYaml({ map, list }))).toEqual({ map, list });
      }),
      { numRuns: 500 },
    );
  });

  it('quotes strings that YAML 1.1 readers such as kubectl would take for booleans, numbers or dates', () => {
    // GIVEN label-like values that are strings to Kubernetes
    const values = ['yes', 'on', 'N', '1:20', '2001-12-14', '0777', '1_000', '0x1F', '~', 'null', '.5', '1e3', '+1', '<<', '='];
    // WHEN written THEN every one is double-quoted
    for (const v of values) expect(toYaml({ v })).toBe(`v: ${JSON.stringify(v)}\n`);
  });

  it('sorts keys, writes multi-line strings as literal blocks and keeps plain scalars plain', () => {
    const text = toYaml({ spec: { rule: 'rate(x[5m])\n  > 0.5\n', image: 'nginx:1.27', url: 'https://kubernetes.default.svc' }, apiVersion: 'v1', empty: {}, list: [] });
    expect(text).toBe(
      [
        'apiVersion: v1',
        'empty: {}',
        'list: []',
        'spec:',
        '  image: nginx:1.27',
        '  rule: |',
        '    rate(x[5m])',
        '      > 0.5',
        '  url: https://kubernetes.default.svc',
        '',
      ].join('\n'),
    );
  });

  it('writes the same text as the yaml package for typical Kubernetes objects', () => {
    // GIVEN a Deployment-shaped object WHEN written by both THEN the bytes agree
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/version': '1.0.0' }, annotations: { 'argocd.argoproj.io/sync-wave': '1' } },
      spec: {
        replicas: 3,
        template: { spec: { containers: [{ name: 'web', image: 'nginx@sha256:abc', args: ['--port=8080', '--verbose'], ports: [{ containerPort: 80 }], resources: { limits: { cpu: '500m', memory: '512Mi' } } }] } },
      },
    };
    expect(toYaml(deployment)).toBe(stringify(deployment, { sortMapEntries: true, lineWidth: 0 }));
  });
});

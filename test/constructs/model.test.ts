import { describe, expect, it } from 'vitest';
import { Model, artifactScheme } from '../../constructs/index.js';
import { SHA_A, modelProps } from '../support/fixtures.js';
import { givenChart } from '../support/synth.js';

describe('Model', () => {
  it('resolves defaults and derives the artifact scheme', () => {
    // GIVEN a chart
    const chart = givenChart();
    // WHEN a model is declared with only the required props
    const model = new Model(chart, 'Model', modelProps());
    // THEN the format defaults to ONNX and the scheme comes from the URI
    expect(model.format).toBe('onnx');
    expect(model.artifactScheme).toBe('s3');
    expect(model.labels).toEqual({});
  });

  it.each([
    ['s3://bucket-1/models/m.onnx', 's3'],
    ['gs://acme-models/m.onnx', 'gs'],
    ['https://models.acme.example/m.onnx', 'https'],
    [`oci://ghcr.io/acme/modelcar@sha256:${SHA_A}`, 'oci'],
    ['pvc://model-store/fraud/1.3.0/model.onnx', 'pvc'],
  ])('accepts the artifact URI %s', (uri, scheme) => {
    expect(artifactScheme(uri)).toBe(scheme);
  });

  it.each(['http://insecure.example/m.onnx', 'ftp://x/m.onnx', 'oci://ghcr.io/acme/modelcar:1.0', 's3://', 'file:///m.onnx'])(
    'fails when the artifact URI is %s',
    (uri) => {
      expect(() => new Model(givenChart(), 'Model', modelProps({ artifactUri: uri }))).toThrow(/artifactUri: expected s3:\/\/bucket\/key/);
    },
  );

  it('fails when the sha256 is not 64 hex digits, naming the construct path and the value', () => {
    expect(() => new Model(givenChart(), 'Model', modelProps({ artifactSha256: 'abc123' }))).toThrow(
      /Model at 'acme-ml\/staging\/app\/Model' has invalid props:\n  - artifactSha256: expected 64 lower-case hex digits \(the output of sha256sum\), got "abc123"/,
    );
  });

  it('fails when the name is not a DNS-1123 label', () => {
    expect(() => new Model(givenChart(), 'Model', modelProps({ name: 'Fraud_Detector' }))).toThrow(
      /name: expected a DNS-1123 label .* got "Fraud_Detector"/,
    );
  });

  it('fails when several props are wrong, reporting all of them at once', () => {
    // WHEN three props are invalid
    const attempt = () =>
      new Model(
        givenChart(),
        'Model',
        modelProps({
          version: '',
          inputs: [{ name: 'x', datatype: 'FLOAT' as never, shape: [0, 3] }],
          baselineUri: 's3://acme-ml-models/baseline.json',
        }),
      );
    // THEN each is named in one error
    expect(attempt).toThrow(/- version: expected a version/);
    expect(attempt).toThrow(/- inputs\[0\]\.datatype: expected one of BOOL, .* got "FLOAT"/);
    expect(attempt).toThrow(/- inputs\[0\]\.shape: expected dimensions that are positive integers or -1 \(dynamic\), got \[0,3\]/);
    expect(attempt).toThrow(/- baselineSha256: expected the sha256 of the baseline file, since baselineUri is set/);
  });

  it('fails when a tensor name repeats', () => {
    const inputs = [
      { name: 'x', datatype: 'FP32', shape: [-1, 2] },
      { name: 'x', datatype: 'FP32', shape: [-1, 2] },
    ] as const;
    expect(() => new Model(givenChart(), 'Model', modelProps({ inputs }))).toThrow(/inputs\[1\]\.name: expected unique tensor names, got "x" twice/);
  });
});

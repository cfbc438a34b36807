import { describe } from 'vitest';

/**
 * A describe block that needs external tools (podman, Jupyter …): skipped with the reason in
 * its name where they are missing, but failing where SLIPWAY_REQUIRE_TOOLS=1 (.ci/run sets it
 * after installing them), so CI can never pass by skipping.
 */
export function describeWithTools(title: string, missing: string | undefined, body: () => void): void {
  if (missing !== undefined && process.env.SLIPWAY_REQUIRE_TOOLS === '1') {
    describe(title, () => {
      throw new Error(`${title}: ${missing}, and SLIPWAY_REQUIRE_TOOLS=1 forbids skipping`);
    });
    return;
  }
  if (missing !== undefined) console.warn(`skipping "${title}": ${missing}`);
  describe.skipIf(missing !== undefined)(missing === undefined ? title : `${title} (skipped: ${missing})`, body);
}

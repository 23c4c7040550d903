// The link workflow stays readable (docs/decisions.md, "Link workflow"): its body is short and no
// function in workflows/ grows past about 80 lines.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { functionSizes } from '../../scripts/function-sizes';

const workflows = path.join(__dirname, '..', '..', 'workflows');

describe('workflow code shape', () => {
  const sizes = functionSizes(workflows);

  it('measures every workflow function (the walker finds them)', () => {
    const names = sizes.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['linkWorkflow', 'routeTableWorkflow', 'securityGroupWorkflow']));
  });

  it('keeps the link workflow function under 60 lines', () => {
    const link = sizes.find((f) => f.name === 'linkWorkflow');
    expect(link?.lines).toBeLessThan(60);
  });

  it('has no function over 80 lines in workflows/', () => {
    expect(sizes.filter((f) => f.lines > 80).map((f) => `${f.file} ${f.name}: ${f.lines} lines`)).toEqual([]);
  });
});

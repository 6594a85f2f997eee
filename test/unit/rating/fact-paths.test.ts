import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFactPath, resolveFactPath } from '../../../src/rating/fact-path.js';
import { validateRuleSetText } from '../../../src/rating/validate.js';

const good = readFileSync(new URL('../../../rules/hybrid-plan/v1.json', import.meta.url), 'utf8');
const UNSAFE = /"(__proto__|constructor|prototype)" is an unsafe name \(__proto__, constructor and prototype are refused/;

/** The message the validator gives for the first condition's path set to `path`. */
function pathProblem(path: string): string | undefined {
  const doc = JSON.parse(good);
  doc.rules[0].conditions.all[0].path = path;
  const result = validateRuleSetText(JSON.stringify(doc, null, 2));
  if (result.ok) return undefined;
  return result.problems.find((p) => p.pointer === '/rules/0/conditions/all/0/path')?.message;
}

describe('unsafe fact paths', () => {
  it('are refused because of the unsafe name, wherever it is and whatever else is wrong with the path', () => {
    for (const path of ['$.__proto__.x', '__proto__', '$.__proto__', 'constructor', '__proto__.x', '$.prototype', '$.dimensions.constructor', '$.a.b.__proto__', '$.dimensions["__proto__"]', '$..constructor']) {
      const parsed = parseFactPath(path);
      expect(parsed, path).toEqual({ error: expect.stringMatching(UNSAFE) });
      expect(pathProblem(path), path).toMatch(new RegExp(`^unsafe fact path: ${UNSAFE.source}`));
      expect(pathProblem(path), path).not.toMatch(/start with/);
    }
    expect(parseFactPath('$.a.__proto__')).toEqual({ error: expect.stringContaining('"__proto__" is an unsafe name') });
  });

  it('say what else is wrong with a path that names nothing unsafe', () => {
    expect(pathProblem('dimensions.model')).toBe('unsafe fact path: fact paths start with "$." (for example "$.dimensions.model")');
    expect(pathProblem('$.dimensions["model"]')).toMatch(/is not a plain name/);
    expect(pathProblem('$.a.b.c.d.e.f.g')).toMatch(/at most 6 segments/);
  });

  it('accept names that merely resemble the unsafe ones', () => {
    for (const path of ['$.dimensions.constructor_id', '$.Prototype', '$.__PROTO__', '$.metadata.proto']) {
      expect(parseFactPath(path), path).toEqual({ segments: path.slice(2).split('.') });
      expect(pathProblem(path), path).toBeUndefined();
    }
  });

  it('never resolve through a refused path', () => {
    const facts = JSON.parse('{"__proto__": {"x": 1}, "constructor": {"x": 2}}');
    expect(resolveFactPath(facts, '__proto__')).toBeUndefined();
    expect(resolveFactPath(facts, '$.__proto__.x')).toBeUndefined();
    expect(resolveFactPath(facts, '$.constructor.x')).toBeUndefined();
  });
});

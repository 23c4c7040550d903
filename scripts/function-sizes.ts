// Lists the functions of a folder's TypeScript files by length (lines), longest first: the
// "no function in workflows/ over ~80 lines" rule of docs/decisions.md, measured.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface FunctionSize {
  file: string;
  name: string;
  lines: number;
}

/** Every function, method, arrow function and accessor in `dir` (recursively), with its length in lines. */
export function functionSizes(dir: string): FunctionSize[] {
  const sizes: FunctionSize[] = [];
  for (const file of tsFiles(dir)) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        sizes.push({ file: path.relative(process.cwd(), file), name: functionName(node), lines: last - first + 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return sizes.sort((x, y) => y.lines - x.lines);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function functionName(node: ts.SignatureDeclaration): string {
  if (node.name && ts.isIdentifier(node.name)) return node.name.text;
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isCallExpression(parent) && ts.isPropertyAccessExpression(parent.expression)) return `(callback of ${parent.expression.name.text})`;
  if (ts.isCallExpression(parent) && ts.isIdentifier(parent.expression)) return `(callback of ${parent.expression.text})`;
  return '(anonymous)';
}

if (require.main === module) {
  const dir = process.argv[2] ?? 'workflows';
  const top = Number(process.argv[3] ?? 15);
  for (const f of functionSizes(dir).slice(0, top)) console.log(`${String(f.lines).padStart(5)}  ${f.file}  ${f.name}`);
}

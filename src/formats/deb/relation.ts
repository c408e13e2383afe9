/**
 * Package relationship fields (Depends, Pre-Depends, Provides, ...): Debian Policy §7.1.
 * `a (>= 1.0) | b:any, c` is a list of alternatives groups.
 */
import type { Relation } from './version.js';

export interface Dependency {
  name: string;
  /** Architecture qualifier (`:any`, `:native`, `:amd64`), if any. */
  archQualifier?: string;
  op?: Relation;
  version?: string;
}

/** An OR-group: any one alternative satisfies it. */
export type AlternativeGroup = Dependency[];

const RELATION_RE = /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([A-Za-z0-9][^)\s]*)\s*\))?\s*(?:\[[^\]]*\])?\s*(?:<[^>]*>\s*)*$/i;

export class RelationSyntaxError extends Error {}

function parseOne(text: string): Dependency {
  const m = RELATION_RE.exec(text.trim());
  if (!m) throw new RelationSyntaxError(`cannot parse relation ${JSON.stringify(text.trim())}`);
  const dep: Dependency = { name: m[1]!.toLowerCase() };
  if (m[2] !== undefined) dep.archQualifier = m[2].toLowerCase();
  if (m[3] !== undefined && m[4] !== undefined) {
    // Obsolete `<` and `>` mean `<=` and `>=` (Policy §7.1).
    const op = m[3] === '<' ? '<=' : m[3] === '>' ? '>=' : m[3];
    dep.op = op as Relation;
    dep.version = m[4];
  }
  return dep;
}

/** Parse a Depends-like field into AND-ed alternative groups. */
export function parseRelations(field: string | undefined): AlternativeGroup[] {
  if (field === undefined) return [];
  const groups: AlternativeGroup[] = [];
  for (const part of field.split(',')) {
    if (part.trim() === '') continue;
    groups.push(part.split('|').map(parseOne));
  }
  return groups;
}

/** Format a dependency back for messages: `libc6 (>= 2.36)`. */
export function formatDependency(dep: Dependency): string {
  const arch = dep.archQualifier ? `:${dep.archQualifier}` : '';
  return dep.op ? `${dep.name}${arch} (${dep.op} ${dep.version})` : `${dep.name}${arch}`;
}

export function formatGroup(group: AlternativeGroup): string {
  return group.map(formatDependency).join(' | ');
}

/**
 * deb822 control data: the format of DEBIAN/control, Packages, Release and dpkg's status file
 * (deb822(5), Debian Policy §5.1). Field names are case-insensitive; continuation lines keep their text.
 */
import { RootstrapError } from '../../errors.js';

export interface ControlField {
  /** The name as written (case kept, for writing the field back). */
  name: string;
  value: string;
}

/** One paragraph: fields in their original order, and a lower-cased index for lookups. */
export class Paragraph {
  readonly fields: ControlField[] = [];
  private readonly index = new Map<string, string>();

  add(name: string, value: string): void {
    this.fields.push({ name, value });
    this.index.set(name.toLowerCase(), value);
  }

  get(name: string): string | undefined {
    return this.index.get(name.toLowerCase());
  }

  has(name: string): boolean {
    return this.index.has(name.toLowerCase());
  }
}

export class ControlSyntaxError extends RootstrapError {
  constructor(source: string, line: number, detail: string) {
    super('verify', 'control-syntax', `malformed control data in ${source} at line ${line}: ${detail}`, {
      hint: 'the file is corrupt or not a Debian control file; check the mirror or the package',
    });
  }
}

/**
 * Parse every paragraph of `text`. With `wanted`, only those (lower-case) field names are kept: parsing a
 * 50 MB Packages file is then about twice as fast (field-notes.md).
 */
export function parseParagraphs(text: string, source = 'control data', wanted?: ReadonlySet<string>): Paragraph[] {
  const paragraphs: Paragraph[] = [];
  let current: Paragraph | undefined;
  let lastName: string | undefined;
  let lastValue = '';
  let keepLast = false;
  let pos = 0;
  let lineNo = 0;
  const flush = (): void => {
    if (current && lastName !== undefined && keepLast) current.add(lastName, lastValue);
    lastName = undefined;
  };
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let line = text.slice(pos, end);
    pos = end + 1;
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') {
      flush();
      if (current) paragraphs.push(current);
      current = undefined;
      if (end === text.length) break;
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      if (lastName === undefined) throw new ControlSyntaxError(source, lineNo, 'continuation line without a field');
      if (keepLast) lastValue += '\n' + line;
      continue;
    }
    if (first === 0x23 /* # */ && current === undefined) continue; // comments are allowed outside paragraphs
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ControlSyntaxError(source, lineNo, `expected "Field: value", got ${JSON.stringify(line.slice(0, 60))}`);
    flush();
    current ??= new Paragraph();
    lastName = line.slice(0, colon);
    keepLast = wanted === undefined || wanted.has(lastName.toLowerCase());
    lastValue = keepLast ? line.slice(colon + 1).trim() : '';
    if (end === text.length) {
      flush();
      paragraphs.push(current);
      current = undefined;
      break;
    }
  }
  flush();
  if (current) paragraphs.push(current);
  return paragraphs;
}

/** Parse text that must hold exactly one paragraph (DEBIAN/control). */
export function parseSingleParagraph(text: string, source: string): Paragraph {
  const paragraphs = parseParagraphs(text, source);
  const first = paragraphs[0];
  if (paragraphs.length !== 1 || first === undefined) {
    throw new ControlSyntaxError(source, 1, `expected one paragraph, got ${paragraphs.length}`);
  }
  return first;
}

/** Write fields back as deb822 (continuation lines already carry their leading space). */
export function formatParagraph(fields: readonly ControlField[]): string {
  let out = '';
  for (const { name, value } of fields) {
    out += value.startsWith('\n') ? `${name}:${value}\n` : `${name}: ${value}\n`;
  }
  return out;
}

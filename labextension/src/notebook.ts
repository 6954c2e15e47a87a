/**
 * The notebook as a duel partner, in the player's own Jupyter (their file tree, their normal `python3` kernel,
 * never the sandbox):
 *
 * - a scratch notebook for the running duel (`duel-scratch/<challenge id>.ipynb`): the statement, the player's
 *   current code and one runnable cell per public sample (`challenge.samples`, never a hidden test), built here
 *   in the nbformat 4.5 shape; an existing one is reopened, never overwritten;
 * - the active notebook cell sent to the duel editor (the editor's own change path mirrors it and syncs it);
 * - a finished duel exported as a notebook that the service builds (`GET {api_url}battles/{id}/notebook`), saved
 *   under `duel-exports/` with a name no other file has.
 *
 * Files are written through `app.serviceManager.contents` and opened with the document manager's command.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { Contents } from '@jupyterlab/services';
import type { Widget } from '@lumino/widgets';

import type { IChallengeView, ISampleView } from './protocol';
import { fetchBattleNotebook } from './rest';
import { readerToken } from './replay';
import type { IDuelClient } from './tokens';

/** Where scratch notebooks go, relative to the Jupyter root. */
export const SCRATCH_DIR = 'duel-scratch';
/** Where exported duels go, relative to the Jupyter root. */
export const EXPORT_DIR = 'duel-exports';

/** One cell of an nbformat 4.5 notebook (the subset this module writes). */
export interface INotebookCell {
  id: string;
  cell_type: 'markdown' | 'code';
  metadata: Record<string, unknown>;
  source: string;
  execution_count?: null;
  outputs?: unknown[];
}

/** An nbformat 4.5 notebook. */
export interface INotebookContent {
  nbformat: 4;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: INotebookCell[];
}

/** The kernel the scratch notebook runs in: the player's normal Python, not the duel sandbox. */
export const SCRATCH_KERNEL = { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' };

function markdownCell(id: string, source: string): INotebookCell {
  return { id, cell_type: 'markdown', metadata: {}, source };
}

function codeCell(id: string, source: string, metadata: Record<string, unknown> = {}): INotebookCell {
  return { id, cell_type: 'code', metadata, source, execution_count: null, outputs: [] };
}

/**
 * The code of the cell that checks one sample: calls the function and prints `sample N: PASS` or
 * `sample N: FAIL` with what it got. The comparison is Python's `==` (the judge's comparator may be more
 * lenient, e.g. with floats).
 */
export function sampleSource(sample: ISampleView, index: number): string {
  return [
    `# Sample ${index}: ${sample.call.replace(/\s+/g, ' ')}`,
    `_got = ${sample.call}`,
    `_expected = ${sample.expected}`,
    `print(f"sample ${index}: {'PASS' if _got == _expected else 'FAIL'} (got {_got!r}, expected {_expected!r})")`
  ].join('\n');
}

/** The scratch notebook of a duel: statement, the player's code, one cell per public sample. */
export function scratchNotebook(challenge: IChallengeView, code: string): INotebookContent {
  const tags = challenge.tags.length ? ` · ${challenge.tags.join(', ')}` : '';
  const statement = challenge.statement.trim();
  // Most statements open with their own title: it is not repeated.
  const title = statement.startsWith('#') ? [] : [`# ${challenge.title}`, ''];
  const header = [
    ...title,
    `*${challenge.difficulty}*${tags}`,
    '',
    statement,
    '',
    '### Signature',
    '',
    '```python',
    challenge.signature,
    '```',
    '',
    `Scratch notebook: it runs in your own Python kernel, not in the duel's judge. ` +
      `${challenge.samples.length} sample${challenge.samples.length === 1 ? '' : 's'} below; ` +
      `${challenge.hidden_count} hidden test${challenge.hidden_count === 1 ? '' : 's'} run only on Submit. ` +
      'Send a cell to the duel editor with “Send Cell to Duel Editor” (cell context menu or palette).'
  ].join('\n');
  const cells: INotebookCell[] = [
    markdownCell('duel-statement', header),
    codeCell('duel-solution', code.trim() ? code : challenge.signature, { jupyter_duel: { role: 'solution' } })
  ];
  challenge.samples.forEach((sample, i) => {
    cells.push(codeCell(`duel-sample-${i + 1}`, sampleSource(sample, i + 1), { jupyter_duel: { role: 'sample' } }));
  });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: SCRATCH_KERNEL,
      language_info: { name: 'python' },
      jupyter_duel: { challenge_id: challenge.id }
    },
    cells
  };
}

/** `text` as a safe piece of a file name: letters, digits, `_` and `-` only. */
export function fileSlug(text: string): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[^\w-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
  return slug || 'duel';
}

async function exists(contents: Contents.IManager, path: string): Promise<boolean> {
  try {
    await contents.get(path, { content: false });
    return true;
  } catch {
    return false;
  }
}

/** Create `dir` (one level under the root) unless it exists. */
async function ensureDirectory(contents: Contents.IManager, dir: string): Promise<void> {
  if (!(await exists(contents, dir))) {
    await contents.save(dir, { type: 'directory' });
  }
}

/** `dir/stem.ipynb`, or `dir/stem-2.ipynb`, `-3`... : the first name no file has. */
export async function freeNotebookPath(contents: Contents.IManager, dir: string, stem: string): Promise<string> {
  for (let n = 1; ; n++) {
    const path = `${dir}/${stem}${n === 1 ? '' : `-${n}`}.ipynb`;
    if (!(await exists(contents, path))) {
      return path;
    }
  }
}

/** Open a notebook in the main area; `kernel` picks the kernel it starts with. */
async function openNotebook(app: JupyterFrontEnd, path: string, kernel?: string): Promise<Widget | undefined> {
  return (await app.commands.execute('docmanager:open', {
    path,
    factory: 'Notebook',
    ...(kernel ? { kernel: { name: kernel } } : {})
  })) as Widget | undefined;
}

/**
 * Open the duel's scratch notebook: `duel-scratch/<challenge id>.ipynb`, created with `code` if it does not exist
 * (an existing one is the player's work and is reopened as it is). Returns its path.
 */
export async function openScratchNotebook(
  app: JupyterFrontEnd,
  challenge: IChallengeView,
  code: string
): Promise<string> {
  const contents = app.serviceManager.contents;
  const path = `${SCRATCH_DIR}/${fileSlug(challenge.id)}.ipynb`;
  if (!(await exists(contents, path))) {
    await ensureDirectory(contents, SCRATCH_DIR);
    await contents.save(path, { type: 'notebook', format: 'json', content: scratchNotebook(challenge, code) });
  }
  await openNotebook(app, path, SCRATCH_KERNEL.name);
  return path;
}

/** What the service puts in an exported notebook's `metadata.jupyter_duel`. */
interface IExportMeta {
  battle_id: string;
  challenge_id: string;
  challenge_title: string;
  players: (string | null)[];
  display_names: string[];
  ended_at: number | null;
}

/** `2026-11-30-add-two-vs-Bob` (from the player's side; an instructor's export names both players). */
export function exportStem(meta: IExportMeta, me: string | null): string {
  const date = new Date((meta.ended_at ?? Date.now() / 1000) * 1000).toISOString().slice(0, 10);
  const mine = meta.players.indexOf(me);
  const who =
    mine >= 0
      ? `vs-${fileSlug(meta.display_names[1 - mine] ?? 'opponent')}`
      : `${fileSlug(meta.display_names[0] ?? 'a')}-vs-${fileSlug(meta.display_names[1] ?? 'b')}`;
  return `${date}-${fileSlug(meta.challenge_id)}-${who}`;
}

/**
 * Fetch a finished battle's notebook from the service, save it under `duel-exports/` with a free name and open
 * it. Returns its path; throws (an `ApiError` with the service's code) when the service refuses.
 */
export async function exportDuel(app: JupyterFrontEnd, client: IDuelClient, battleId: string): Promise<string> {
  const session = client.session;
  if (!session) {
    throw new Error('Not connected to the duel service.');
  }
  const notebook = await fetchBattleNotebook<INotebookContent>(session, battleId, await readerToken(session));
  const meta = (notebook.metadata?.jupyter_duel ?? {}) as IExportMeta;
  const contents = app.serviceManager.contents;
  await ensureDirectory(contents, EXPORT_DIR);
  const path = await freeNotebookPath(contents, EXPORT_DIR, exportStem(meta, client.profile?.name ?? null));
  await contents.save(path, { type: 'notebook', format: 'json', content: notebook });
  await openNotebook(app, path);
  return path;
}

/**
 * The active cell's source when `widget` is a notebook panel (duck-typed: the duel extension does not load the
 * notebook package), else null.
 */
export function activeCellSource(widget: Widget | null): string | null {
  if (!widget || !widget.hasClass('jp-NotebookPanel')) {
    return null;
  }
  const cell = (widget as any).content?.activeCell;
  const source = cell?.model?.sharedModel?.getSource?.();
  return typeof source === 'string' ? source : null;
}

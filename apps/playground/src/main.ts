// The playground page: load a model folder (the demo, a pick, a drop, or one trained here),
// run it step by step with onnxruntime-web, draw its attention, show positional tables and
// masks, and train a tiny model in a worker. Every failure ends as one line in the page.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { causalMask, hasTokens, imageConfig, modelTask, localWindowMask, numAttentionHeads, numDecoderLayers, paddingMask, sinusoidalTable, takesPairs, tokenConfig, type ImageToTextConfig, type LabeledFeatures, type TokenModelConfig } from '@attend/core';
import { attentionChoices, pickedIndex, readingChoices, stepWord, testDigits, testScene, wordLabel } from './caption-steps.js';
import { captionScene, drawCaptionPanel, drawCaptionPanels, sceneMatrix, type CaptionResult } from './caption-view.js';
import { decodeWithAttention, encodeInput, type DecodeResult, type Sessions } from './decode.js';
import { decodeSettings, generatesText } from './decode-controls.js';
import { pickedFromDrop, pickedFromInput } from './drop.js';
import { drawHeatmap, encoderMatrix, mapFigure, maskMatrix, stepMatrix, tableMatrix, tokenLabels } from './heatmap.js';
import { seq2seqHeadMaps, showHeadView, textAttention } from './head-view.js';
import { classifyImage, imageMatrix, paint } from './image.js';
import { classifyText } from './classify-text.js';
import { playgroundKind } from './models/registry.js';
import type { OnnxModel } from '@attend/runtime-onnx';
import { fetchFolderFiles, folderPaths, memoryFolderFiles, readModelFolder, textTokenizer, type FolderFiles, type ModelFolder, type PickedFile } from './model-folder.js';
import { browserEnvironment, configureOrt, openSessions, pickDevice, releaseSessions, shortReason, wasmThreads, type DeviceChoice, type OpenedSessions } from './runtime.js';
import { checkTrainRequest, trainBackend, type TrainBackendChoice, type TrainRequest, type TrainStart, type WorkerRequest } from './train-check.js';
import type { WorkerMessage } from './train-worker.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el as T;
};

const env = await browserEnvironment();
const threads = wasmThreads(env);
const assetUrl = (path: string): string => new URL(path, document.baseURI).href;
configureOrt(assetUrl('ort/'), threads);
$('runtime-info').textContent = `onnxruntime-web · cross-origin isolated: ${env.crossOriginIsolated ? 'yes' : 'no'} · WASM threads: ${threads} · WebGPU: ${env.hasWebGpu ? 'available' : 'unavailable'}`;

interface Loaded {
  folder: ModelFolder;
  opened: OpenedSessions;
}

let loaded: Loaded | undefined;
let result: DecodeResult | undefined;
let busy = false;

function showError(id: string, error: unknown): void {
  const el = $(id);
  if (error === undefined) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  el.textContent = message.split('\n')[0] ?? message;
  el.hidden = false;
}

function setBusy(value: boolean): void {
  busy = value;
  for (const id of ['load-demo', 'run-button', 'train-button', 'image-run']) ($(id) as HTMLButtonElement).disabled = value || ((id === 'run-button' || id === 'image-run') && !loaded);
  for (const id of ['input-text', 'input-pair']) ($(id) as HTMLInputElement).disabled = value || !loaded;
  for (const id of ['decode-strategy', 'decode-max']) ($(id) as HTMLInputElement).disabled = value;
  showSamplingInputs();
}

/** The sampling inputs are live only while sampling is chosen (and nothing runs). */
function showSamplingInputs(): void {
  const sampling = $<HTMLSelectElement>('decode-strategy').value === 'sample';
  for (const id of ['decode-temperature', 'decode-topk', 'decode-topp', 'decode-seed']) ($(id) as HTMLInputElement).disabled = busy || !sampling;
}

// 1. Loading ---------------------------------------------------------------------------------

async function loadFolder(files: () => Promise<FolderFiles>, source: string, examples: string[] = [], note = ''): Promise<void> {
  if (busy) {
    showError('model-error', 'busy: wait until the current run or training has finished, then load the model again');
    return;
  }
  setBusy(true);
  showError('model-error', undefined);
  $('model-status').textContent = `Loading ${source || 'the selected files'}…`;
  try {
    const folder = await readModelFolder(await files(), source);
    const device = pickDevice(env, ($('device-select') as HTMLSelectElement).value as DeviceChoice);
    const opened = await openSessions(folder, device);
    if (loaded) await releaseSessions(loaded.opened.sessions);
    loaded = { folder, opened };
    result = undefined;
    clearRun();
    const c = folder.config;
    const { attention: heads, layers } = playgroundKind(c).summary(c);
    const fellBack = opened.fallbacks.map((f) => ` (${f.device} failed: ${shortReason(f.reason)})`).join('');
    $('model-status').textContent =
      `Loaded ${source || 'model'}: ${c.preset}, dModel ${c.dModel}, ${heads}, ${layers}${hasTokens(c) ? `, vocabulary ${c.vocabSize}, maxSeqLen ${c.maxSeqLen}` : ''} · ` +
      `device ${opened.device}${fellBack}${opened.device === 'wasm' ? `, ${threads} thread${threads === 1 ? '' : 's'}` : ''}` +
      `${opened.kvCache ? ` · ${opened.kvCache}` : ''}` +
      `${folder.hasAttention ? '' : ' · exported without attention outputs: no heatmaps'}${note ? ` · ${note}` : ''}`;
    document.body.dataset.model = 'ready';
    showInputs(folder);
    showExamples(examples);
  } catch (error) {
    showError('model-error', error);
    $('model-status').textContent = loaded ? `Still using ${loaded.folder.source || 'the previous model'}.` : 'No model loaded.';
  } finally {
    setBusy(false);
  }
}

async function loadDemo(): Promise<void> {
  let info: { examples?: string[]; exactMatchOnnx?: number; steps?: number; devSize?: number } = {};
  try {
    const response = await fetch(assetUrl('demo/demo.json'));
    if (response.ok) info = (await response.json()) as typeof info;
  } catch {
    // demo.json only adds the examples and the figures; the folder check reports what is missing.
  }
  const note = info.exactMatchOnnx !== undefined ? `trained at build time, ${info.steps} steps, dev exact match ${(100 * info.exactMatchOnnx).toFixed(1)}% on ${info.devSize} dates` : '';
  await loadFolder(() => fetchFolderFiles(assetUrl('demo/')), 'demo/', info.examples ?? [], note);
}

function topFolder(files: PickedFile[]): string {
  const first = files[0]?.path.split('/') ?? [];
  return first.length > 1 ? `${first[0]}/` : '';
}

function loadPicked(files: PickedFile[]): Promise<void> {
  return loadFolder(async () => folderPaths(files), topFolder(files));
}

function showExamples(examples: string[]): void {
  const box = $('examples');
  box.replaceChildren();
  for (const text of examples) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = text;
    button.addEventListener('click', () => {
      ($('input-text') as HTMLInputElement).value = text;
      void run();
    });
    box.append(button);
  }
  if (examples[0] && ($('input-text') as HTMLInputElement).value === '') ($('input-text') as HTMLInputElement).value = examples[0];
}

$('load-demo').addEventListener('click', () => void loadDemo());
for (const id of ['file-input', 'folder-input']) {
  const input = $<HTMLInputElement>(id);
  input.addEventListener('change', () => {
    const files = pickedFromInput(input.files);
    input.value = '';
    void loadPicked(files);
  });
}
const dropZone = $('drop-zone');
dropZone.addEventListener('dragover', (e) => {
  e.preventDefault();
  dropZone.classList.add('over');
});
dropZone.addEventListener('dragleave', () => dropZone.classList.remove('over'));
dropZone.addEventListener('drop', (e) => {
  e.preventDefault();
  dropZone.classList.remove('over');
  if (!e.dataTransfer) return;
  void pickedFromDrop(e.dataTransfer).then(loadPicked, (error: unknown) => showError('model-error', error));
});

// 2. Running ---------------------------------------------------------------------------------

/** The caption shown, and the word whose panel is shown large (stepped with previous / next). */
let caption: { result: CaptionResult; at: number; pixelMax: number } | undefined;
/** The test digits of the digits8x8.csv the user gave (caption-steps.ts). */
let sceneDigits: LabeledFeatures[] | undefined;

function clearRun(): void {
  $('output-text').textContent = '';
  for (const key of ['ids', 'label', 'probabilities']) delete $('output-text').dataset[key];
  $('latency').textContent = '';
  showError('run-error', undefined);
  for (const id of ['cross-maps', 'self-maps', 'encoder-maps', 'cls-maps', 'rollout-maps', 'head-grid', 'where-maps']) $(id).replaceChildren();
  for (const id of ['image-attention-block', 'head-view-block', 'where-block', 'caption-steps']) $(id).hidden = true;
  $('word-panel').replaceChildren();
  caption = undefined;
  const slider = $<HTMLInputElement>('step-slider');
  slider.max = '0';
  slider.disabled = true;
  ($('play-button') as HTMLButtonElement).disabled = true;
  $('step-label').textContent = '';
  delete document.body.dataset.run;
}

async function run(): Promise<void> {
  if (!loaded || busy) return;
  const { folder, opened } = loaded;
  clearRun();
  setBusy(true);
  try {
    const text = ($('input-text') as HTMLInputElement).value;
    const pair = ($('input-pair') as HTMLInputElement).value; // shown for a classifier with token types only; empty: one text
    const tokenizer = textTokenizer(folder);
    const config = tokenConfig(folder.config, 'text input');
    const { ids, typeIds, unknown } = encodeInput(tokenizer, config, text, $('input-pair').hidden || pair === '' ? undefined : pair);
    const out = $('output-text');
    if (opened.sessions.kind === 'classifier') {
      await runClassifier(opened.sessions.model, ids, unknown, typeIds);
      await drawHeadView(opened.sessions, config, typeIds);
      document.body.dataset.run = 'done';
      return;
    }
    const value = (id: string): string => $<HTMLInputElement>(id).value;
    const settings = decodeSettings({ strategy: value('decode-strategy'), temperature: value('decode-temperature'), topK: value('decode-topk'), topP: value('decode-topp'), seed: value('decode-seed'), maxNewTokens: value('decode-max') });
    const started = performance.now();
    result = await decodeWithAttention(opened.sessions, config, ids, {
      ...settings,
      onStep: (step) => {
        out.textContent += tokenizer.decode([step.token]);
      },
    });
    const total = performance.now() - started;
    out.textContent = tokenizer.decode(result.output);
    out.dataset.ids = result.output.join(' ');
    const perToken = result.steps.map((s) => s.ms);
    const sorted = [...perToken].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    $('latency').textContent =
      `${opened.device}${opened.device === 'wasm' ? ` · ${threads} thread${threads === 1 ? '' : 's'}` : ''} · ` +
      `${modelTask(folder.config) === 'text-generation' ? 'prompt' : 'encoder'} ${result.prefillMs.toFixed(1)} ms · ${result.steps.length} tokens, ` +
      `${median.toFixed(1)} ms/token median (${perToken.map((ms) => ms.toFixed(1)).join(', ')}) · total ${total.toFixed(0)} ms · ` +
      `${settings.strategy.kind === 'sample' ? `sampling, seed ${settings.strategy.seed}` : 'greedy'}` +
      `${{ eos: '', length: ' · stopped at the length limit (no end token)', context: ` · stopped at the model's context (maxSeqLen ${config.maxSeqLen})` }[result.finishReason]}` +
      `${unknown.length ? ` · unknown to the tokenizer: ${unknown.map((c) => JSON.stringify(c)).join(' ')}` : ''}`;
    const slider = $<HTMLInputElement>('step-slider');
    slider.max = String(Math.max(0, result.steps.length - 1));
    slider.value = slider.max;
    slider.disabled = result.steps.length === 0;
    ($('play-button') as HTMLButtonElement).disabled = result.steps.length === 0;
    const panels = playgroundKind(folder.config).panels ?? { cross: false, encoder: false };
    $('no-attention').hidden = folder.hasAttention;
    $('cross-block').hidden = !folder.hasAttention || !panels.cross;
    $('encoder-block').hidden = !folder.hasAttention || !panels.encoder;
    $('self-block').hidden = !folder.hasAttention || panels.self === undefined;
    $('self-title').textContent = panels.self ?? '';
    drawAttention();
    await drawHeadView(opened.sessions, config);
    document.body.dataset.run = 'done';
  } catch (error) {
    showError('run-error', error);
  } finally {
    setBusy(false);
  }
}

/**
 * The head view of a text run, for kinds that have one and exports with attention outputs; an
 * encoder–decoder's run picks one of its three attentions (encoder self, decoder self, cross).
 */
async function drawHeadView(sessions: Sessions, config: TokenModelConfig, typeIds?: readonly number[]): Promise<void> {
  if (!loaded || !result || !loaded.folder.hasAttention || !playgroundKind(config).headView) return;
  const tokenizer = textTokenizer(loaded.folder);
  const elements = { layerSelect: $('head-layer') as HTMLSelectElement, toggles: $('head-toggles'), canvas: $('head-view') as HTMLCanvasElement, readout: $('head-readout'), grid: $('head-grid') };
  const maps = sessions.kind === 'seq2seq' ? seq2seqHeadMaps(result) : [{ name: 'self-attention', ...(await textAttention(sessions, result, config.maxSeqLen)) }].map(({ name, ids, layers }) => ({ name, layers, queries: ids, keys: ids }));
  const select = $('head-attention') as HTMLSelectElement;
  $('head-attention-label').hidden = maps.length === 1;
  select.replaceChildren(...maps.map((m, i) => new Option(m.name, String(i))));
  const show = (): void => {
    const m = maps[Number(select.value)]!;
    showHeadView(elements, m.layers, tokenLabels(tokenizer, m.queries), tokenLabels(tokenizer, m.keys), typeIds);
    $('head-view').dataset.ids = m.queries.join(' ');
    $('head-view').dataset.keys = m.keys.join(' ');
  };
  select.onchange = show;
  $('head-view-block').hidden = false;
  show();
}

/** A text classifier: one call (a sentence pair with its token types); the label and every class's probability, and its self-attention as the encoder maps. */
async function runClassifier(model: OnnxModel, ids: number[], unknown: string[], typeIds?: number[]): Promise<void> {
  const r = await classifyText(model, ids, typeIds);
  result = r.result;
  const out = $('output-text');
  out.textContent = `class ${r.label} · ${(100 * r.probabilities[r.label]!).toFixed(1)}%  (${Array.from(r.probabilities, (p, k) => `${k}: ${(100 * p).toFixed(1)}%`).join(', ')})`;
  out.dataset.label = String(r.label);
  out.dataset.probabilities = Array.from(r.probabilities).join(' ');
  $('latency').textContent =
    `${loaded!.opened.device} · ${r.ms.toFixed(1)} ms` +
    `${typeIds ? ` · sentence pair: segment A ${typeIds.filter((t) => t === 0).length} tokens, segment B ${typeIds.filter((t) => t !== 0).length} (blue in the head view)` : ''}` +
    `${unknown.length ? ` · unknown to the tokenizer: ${unknown.map((c) => JSON.stringify(c)).join(' ')}` : ''}`;
  const hasAttention = loaded!.folder.hasAttention;
  $('no-attention').hidden = hasAttention;
  $('cross-block').hidden = true;
  $('self-block').hidden = true;
  $('encoder-block').hidden = !hasAttention;
  $('step-row').hidden = true; // one call, no steps
  drawAttention();
}

$('run-button').addEventListener('click', () => void run());
$('decode-strategy').addEventListener('change', showSamplingInputs);
for (const id of ['input-text', 'input-pair']) {
  $(id).addEventListener('keydown', (e) => {
    if (e.key === 'Enter') void run();
  });
}

// 2b. Images (vit-classifier) ------------------------------------------------------------------

/** The image being painted: raw pixel values [C, S, S]. */
let pixels: Float32Array = new Float32Array(0);
const PAINT_SIZE = 224;

/** The captioner's config when `config` is one (PLAYGROUND_KINDS' `caption`): its scene is painted as an image's. */
function captionerOf(config: ModelFolder['config']): ImageToTextConfig | undefined {
  return playgroundKind(config).caption ? (config as ImageToTextConfig) : undefined;
}

/** The canvas being painted: rows, columns and CSS pixels per cell (a captioner's wide scene, or a classifier's square image). */
function paintGrid(config: ModelFolder['config']): { rows: number; cols: number; cell: number } {
  const captioner = captionerOf(config);
  if (captioner) return { rows: captioner.imageHeight, cols: captioner.imageWidth, cell: Math.max(4, Math.floor((2 * PAINT_SIZE) / captioner.imageWidth)) };
  const c = imageConfig(config, 'drawing an image');
  return { rows: c.imageSize, cols: c.imageSize, cell: Math.floor(PAINT_SIZE / c.imageSize) };
}

/** Text input for text models; the painting grid for an image classifier or a captioner. */
function showInputs(folder: ModelFolder): void {
  const captioner = captionerOf(folder.config);
  const image = !hasTokens(folder.config) || captioner !== undefined;
  $('text-input-row').hidden = image;
  $('input-pair').hidden = image || !takesPairs(folder.config);
  $('examples').hidden = image;
  $('image-input').hidden = !image;
  $('decode-controls').hidden = !generatesText(folder.config);
  $('step-row').hidden = modelTask(folder.config).endsWith('classification') || captioner !== undefined; // a classifier answers in one call, a captioner shows every word at once: no steps
  $('image-run').textContent = captioner ? 'Caption' : 'Classify';
  $('scene-picker').hidden = !captioner;
  if (captioner) showAttentionChoices(captioner);
  if (captioner && loaded?.opened.sessions.kind === 'caption') showReadingChoices(captioner, loaded.opened.sessions.decoder);
  $('image-verb').textContent = captioner ? 'caption' : 'classify';
  const placeholders: Record<string, string> = { 'text-generation': 'a prompt to continue, e.g. the ', 'text-classification': 'a text to classify', translation: 'a source sentence, e.g. march 3rd, 2021' };
  ($('input-text') as HTMLInputElement).placeholder = placeholders[modelTask(folder.config)] ?? '';
  $('step-hint').hidden = image;
  for (const id of ['cross-block', 'self-block', 'encoder-block']) $(id).hidden = image || $(id).hidden;
  if (image) {
    const { rows, cols } = paintGrid(folder.config);
    pixels = new Float32Array((captioner ? 1 : imageConfig(folder.config, 'painting an image').numChannels) * rows * cols);
    drawImage();
  }
}

function drawImage(): void {
  if (!loaded) return;
  const canvas = $<HTMLCanvasElement>('image-canvas');
  const captioner = captionerOf(loaded.folder.config);
  const matrix = captioner ? sceneMatrix(captioner, pixels) : imageMatrix(imageConfig(loaded.folder.config, 'drawing an image'), pixels);
  drawHeatmap(canvas, matrix, { cell: paintGrid(loaded.folder.config).cell, minLabelCell: Infinity, legend: false });
  canvas.dataset.pixels = Array.from(pixels).join(',');
}

function paintAt(event: MouseEvent): void {
  if (!loaded || (hasTokens(loaded.folder.config) && !captionerOf(loaded.folder.config))) return;
  const { rows, cols, cell } = paintGrid(loaded.folder.config);
  const canvas = $<HTMLCanvasElement>('image-canvas');
  const box = canvas.getBoundingClientRect();
  const col = Math.floor((event.clientX - box.left) / cell);
  const row = Math.floor((event.clientY - box.top) / cell);
  if (row < 0 || col < 0 || row >= rows || col >= cols) return;
  pixels = paint(captionerOf(loaded.folder.config) ?? imageConfig(loaded.folder.config, 'drawing an image'), pixels, row, col);
  drawImage();
}

const paintCanvas = $<HTMLCanvasElement>('image-canvas');
paintCanvas.addEventListener('mousedown', (e) => paintAt(e));
paintCanvas.addEventListener('mousemove', (e) => {
  if (e.buttons & 1) paintAt(e);
});
$('image-clear').addEventListener('click', () => {
  pixels = new Float32Array(pixels.length);
  clearRun();
  drawImage();
});

async function classifyPainted(): Promise<void> {
  if (!loaded || busy) return;
  const { folder, opened } = loaded;
  const sessions = opened.sessions;
  if (sessions.kind === 'caption') return captionPainted(folder, sessions);
  if (sessions.kind !== 'image') return;
  const model = sessions.model;
  clearRun();
  setBusy(true);
  try {
    const r = await classifyImage(model, pixels);
    const out = $('output-text');
    out.textContent = `class ${r.label} (p = ${r.probabilities[r.label]!.toFixed(3)})`;
    out.dataset.label = String(r.label);
    out.dataset.probabilities = Array.from(r.probabilities).join(' ');
    $('latency').textContent =
      `${opened.device}${opened.device === 'wasm' ? ` · ${threads} thread${threads === 1 ? '' : 's'}` : ''} · ${r.ms.toFixed(1)} ms · ` +
      `probabilities ${Array.from(r.probabilities, (p, k) => `${k}: ${p.toFixed(3)}`).join(', ')}`;
    const kind = playgroundKind(folder.config);
    const patchAttention = folder.hasAttention ? kind.patchAttention : undefined;
    // The re-export hint only where the kind has patch attention this export left out.
    $('no-attention').hidden = !kind.patchAttention || folder.hasAttention;
    $('image-attention-block').hidden = !patchAttention;
    patchAttention?.({ cls: $('cls-maps'), rollout: $('rollout-maps') }, folder.config, r);
    const where = kind.where;
    $('where-block').hidden = !where;
    where?.($('where-maps'), folder.config, pixels, r);
    document.body.dataset.run = 'done';
  } catch (error) {
    showError('run-error', error);
  } finally {
    setBusy(false);
  }
}

/** The layer and head selects of a captioner with several (a vision-encoder-decoder); hidden for the LSTM captioner. */
function showAttentionChoices(config: ImageToTextConfig): void {
  const choices = attentionChoices(numDecoderLayers(config), numAttentionHeads(config));
  for (const [id, options] of [['caption-layer', choices.layers], ['caption-head', choices.heads]] as const) {
    $(id).replaceChildren(...options.map((o) => new Option(o.label, o.value, o.value === '', o.value === '')));
    $(`${id}-label`).hidden = options.length === 0;
  }
}

/** The reading select of a hard-attention captioner (arg-max or expectation; an older export's arg-max only, with its note); hidden for other captioners. */
function showReadingChoices(config: ImageToTextConfig, decoder: OnnxModel): void {
  const choice = readingChoices(config, decoder.inputNames);
  $('caption-reading').replaceChildren(...(choice?.readings ?? []).map((r, i) => new Option(r === 'argmax' ? 'arg-max location' : 'expectation Σ α a', r, i === 0, i === 0)));
  ($('caption-reading') as HTMLSelectElement).disabled = (choice?.readings.length ?? 0) < 2;
  $('caption-reading-label').hidden = !choice;
  $('caption-reading-note').textContent = choice?.note ?? '';
  $('caption-reading-note').hidden = !choice?.note;
}

/** Word `caption.at`'s panel, large, with its position among the words. */
function showWord(): void {
  if (!caption) return;
  const { result, at, pixelMax } = caption;
  $('word-label').textContent = wordLabel(result.words, at);
  $('word-panel').replaceChildren();
  if (result.words.length > 0) drawCaptionPanel($('word-panel'), result, at, pixelMax, 16);
  ($('word-prev') as HTMLButtonElement).disabled = at === 0;
  ($('word-next') as HTMLButtonElement).disabled = at >= result.words.length - 1;
}

/** A captioner: the painted scene's caption, and per word its attention over the scene (caption-view.ts) under "Where the model looked": one word large (stepped), then every word. */
async function captionPainted(folder: ModelFolder, sessions: { encoder: OnnxModel; decoder: OnnxModel }): Promise<void> {
  clearRun();
  setBusy(true);
  try {
    const pick = { layer: pickedIndex(($('caption-layer') as HTMLSelectElement).value), head: pickedIndex(($('caption-head') as HTMLSelectElement).value) };
    const reading = ($('caption-reading') as HTMLSelectElement).value;
    const r = await captionScene(sessions, textTokenizer(folder), pixels, pick, reading === 'expectation' ? { hardInference: reading } : {});
    const out = $('output-text');
    out.textContent = r.output;
    $('latency').textContent = `${loaded?.opened.device ?? ''} · ${r.ms.toFixed(1)} ms · ${r.words.length} words`;
    $('where-block').hidden = false;
    $('caption-steps').hidden = false;
    caption = { result: r, at: 0, pixelMax: 1 / captionerOf(folder.config)!.pixelScale };
    showWord();
    drawCaptionPanels($('where-maps'), r, caption.pixelMax);
    document.body.dataset.run = 'done';
  } catch (error) {
    showError('run-error', error);
  } finally {
    setBusy(false);
  }
}

$('image-run').addEventListener('click', () => void classifyPainted());
for (const [id, by] of [['word-prev', -1], ['word-next', 1]] as const) {
  $(id).addEventListener('click', () => {
    if (!caption) return;
    caption.at = stepWord(caption.at, by, caption.result.words.length);
    showWord();
  });
}
for (const id of ['caption-layer', 'caption-head', 'caption-reading']) $(id).addEventListener('change', () => void classifyPainted());
$('digits-input').addEventListener('change', () => {
  const file = ($('digits-input') as HTMLInputElement).files?.[0];
  if (!file) return;
  void file
    .text()
    .then((text) => {
      sceneDigits = testDigits(text, file.name);
      $('scene-info').textContent = `${file.name}: ${sceneDigits.length} test digits`;
      ($('scene-draw') as HTMLButtonElement).disabled = false;
      showError('run-error', undefined);
    })
    .catch((error: unknown) => showError('run-error', error));
});
$('scene-draw').addEventListener('click', () => {
  const captioner = loaded && captionerOf(loaded.folder.config);
  if (!captioner || !sceneDigits) return;
  try {
    const n = Number(($('scene-number') as HTMLInputElement).value);
    const scene = testScene(sceneDigits, captioner, n);
    pixels = Float32Array.from(scene.pixels, (v) => v / captioner.pixelScale);
    $('scene-info').textContent = `test scene ${n}: "${scene.caption}"`;
    ($('scene-number') as HTMLInputElement).value = String(n + 1);
    clearRun();
    drawImage();
  } catch (error) {
    showError('run-error', error);
  }
});

// 3. Attention ---------------------------------------------------------------------------------

function drawAttention(): void {
  if (!loaded || !result) return;
  const tokenizer = textTokenizer(loaded.folder);
  const step = Number($<HTMLInputElement>('step-slider').value);
  const s = result.steps[step];
  $('step-label').textContent = s ? `step ${step + 1} of ${result.steps.length}: “${tokenizer.idsToTokens([s.token])[0]}” in ${s.ms.toFixed(1)} ms` : '';
  const kinds: ['cross' | 'self', string][] = [['cross', 'cross-maps'], ['self', 'self-maps']];
  for (const [kind, id] of kinds) {
    const box = $(id);
    box.replaceChildren();
    const rows = (kind === 'cross' ? s?.cross : s?.self) ?? [];
    for (let layer = 0; layer < rows.length; layer++) {
      for (let head = 0; head < rows[layer]!.heads; head++) {
        const { figure, canvas } = mapFigure(`layer ${layer} · head ${head}`);
        box.append(figure);
        drawHeatmap(canvas, stepMatrix(result, tokenizer, kind, layer, head, step), { highlightRow: step });
      }
    }
  }
  const encoderBox = $('encoder-maps');
  if (encoderBox.childElementCount === 0) {
    result.encoder.forEach((layer, l) => {
      for (let head = 0; head < layer.heads; head++) {
        const { figure, canvas } = mapFigure(`layer ${l} · head ${head}`);
        encoderBox.append(figure);
        drawHeatmap(canvas, encoderMatrix(result!, tokenizer, l, head));
      }
    });
  }
}

$('step-slider').addEventListener('input', drawAttention);
$('play-button').addEventListener('click', () => {
  if (!result) return;
  const slider = $<HTMLInputElement>('step-slider');
  let step = 0;
  const last = result.steps.length - 1;
  const tick = (): void => {
    slider.value = String(step);
    drawAttention();
    if (step++ < last) setTimeout(tick, 350);
  };
  tick();
});

// 4. Positional encodings and masks -------------------------------------------------------------

function drawTables(): void {
  const num = (id: string): number => Number($<HTMLInputElement>(id).value);
  try {
    const len = num('pe-len');
    const dim = num('pe-dim');
    if (!Number.isInteger(len) || len < 2 || len > 128) throw new RangeError(`positions is ${len}; expected an integer in [2, 128]`);
    if (!Number.isInteger(dim) || dim < 2 || dim > 256 || dim % 2 !== 0) throw new RangeError(`dModel is ${dim}; expected an even integer in [2, 256]`);
    const n = num('mask-size');
    const valid = num('mask-valid');
    const window = num('mask-window');
    if (!Number.isInteger(n) || n < 2 || n > 32) throw new RangeError(`mask size is ${n}; expected an integer in [2, 32]`);
    if (!Number.isInteger(valid) || valid < 0 || valid > n) throw new RangeError(`valid length is ${valid}; expected an integer in [0, ${n}]`);
    if (!Number.isInteger(window) || window < 0) throw new RangeError(`window is ${window}; expected a non-negative integer`);
    drawHeatmap($<HTMLCanvasElement>('pe-canvas'), tableMatrix(sinusoidalTable(len, dim), len, dim), { scale: 'signed', cell: Math.max(3, Math.min(12, Math.floor(512 / dim))), minLabelCell: 10 });
    drawHeatmap($<HTMLCanvasElement>('causal-canvas'), maskMatrix(causalMask(n), n, n), { cell: 18 });
    const padding = paddingMask([valid], n);
    // The padding mask is per key; every query row sees the same keys.
    const rows = new Uint8Array(n * n);
    for (let i = 0; i < n; i++) rows.set(padding, i * n);
    drawHeatmap($<HTMLCanvasElement>('padding-canvas'), maskMatrix(rows, n, n), { cell: 18 });
    drawHeatmap($<HTMLCanvasElement>('window-canvas'), maskMatrix(localWindowMask(n, n, window), n, n), { cell: 18 });
    showError('tables-error', undefined);
  } catch (error) {
    showError('tables-error', error);
  }
}

for (const id of ['pe-len', 'pe-dim', 'mask-size', 'mask-valid', 'mask-window']) $(id).addEventListener('input', drawTables);
drawTables();

// 5. Training ------------------------------------------------------------------------------------

let chart: uPlot | undefined;
const lossData: [number[], number[]] = [[], []];

function resetChart(): void {
  lossData[0].length = 0;
  lossData[1].length = 0;
  chart?.destroy();
  chart = new uPlot(
    {
      width: 640,
      height: 260,
      title: 'training loss',
      scales: { x: { time: false } },
      series: [{ label: 'step' }, { label: 'loss', stroke: '#2a6fdb', width: 2 }],
      axes: [{ label: 'step' }, { label: 'loss' }],
    },
    lossData,
    $('loss-chart'),
  );
}

function trainRequest(): TrainRequest {
  const num = (id: string): number => Number($<HTMLInputElement>(id).value);
  return {
    task: $<HTMLSelectElement>('train-task').value as TrainRequest['task'],
    steps: num('train-steps'),
    dModel: num('train-dmodel'),
    numHeads: num('train-heads'),
    layers: num('train-layers'),
    maxLength: num('train-maxlen'),
    learningRate: 5e-3,
    seed: 1,
  };
}

$('train-button').addEventListener('click', async () => {
  if (busy) return;
  showError('train-error', undefined);
  let request: TrainRequest;
  try {
    request = checkTrainRequest(trainRequest());
  } catch (error) {
    showError('train-error', error);
    return;
  }
  setBusy(true);
  resetChart();
  const status = $('train-status');
  status.textContent = 'Starting the worker…';
  for (const key of ['step', 'backend', 'losses']) delete status.dataset[key];
  delete document.body.dataset.train;
  const worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
  const send = (message: WorkerRequest): void => worker.postMessage(message);
  const stop = $<HTMLButtonElement>('train-stop');
  stop.disabled = false;
  stop.onclick = () => {
    stop.disabled = true;
    stop.textContent = 'Stopping…';
    send({ type: 'stop' });
  };
  let examples: string[] = [];
  const finish = (): void => {
    worker.terminate();
    stop.disabled = true;
    stop.textContent = 'Stop';
    stop.onclick = null;
    setBusy(false);
  };
  worker.onerror = (e) => {
    showError('train-error', `training worker failed: ${e.message || 'could not start'}`);
    finish();
  };
  worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
    const m = event.data;
    if (m.type === 'backend') {
      status.dataset.backend = m.name;
      status.textContent = `tfjs backend ${m.name}${m.fallbacks.map((f) => ` (${f.name} failed: ${f.reason})`).join('')}`;
    } else if (m.type === 'data') {
      examples = m.examples.map((e) => e.source);
      status.textContent += ` · ${m.train} training pairs, vocabulary ${m.vocabSize}, ${m.parameters.toLocaleString('en')} parameters`;
    } else if (m.type === 'step') {
      lossData[0].push(m.step);
      lossData[1].push(m.loss);
      chart?.setData(lossData);
      $('train-status').dataset.step = String(m.step);
      status.textContent = status.textContent!.replace(/ · step .*$/, '') + ` · step ${m.step}/${m.totalSteps}, loss ${m.loss.toFixed(3)}, ${Math.round(m.tokensPerSecond)} tokens/s`;
    } else if (m.type === 'done') {
      status.dataset.backend = m.backend;
      status.dataset.losses = lossData[1].join(' ');
      const how = m.stopped ? `stopped at step ${m.steps}/${request.steps} after` : 'done in';
      status.textContent += ` · ${how} ${m.seconds.toFixed(1)} s, dev exact match ${(100 * m.exactMatch).toFixed(1)}% · exported to ONNX in the page`;
      finish();
      document.body.dataset.train = m.stopped ? 'stopped' : 'done';
      const note = `trained in this page${m.stopped ? `, stopped at step ${m.steps}` : ''}, exact match ${(100 * m.exactMatch).toFixed(1)}%`;
      void loadFolder(async () => memoryFolderFiles(m.files), `trained-${request.task}/`, examples, note);
    } else if (m.type === 'stopped') {
      status.textContent += ' · stopped before the first step: nothing trained, the loaded model stays';
      finish();
      document.body.dataset.train = 'stopped';
    } else {
      showError('train-error', m.message);
      finish();
    }
  };
  const backend = trainBackend($<HTMLSelectElement>('train-backend').value as TrainBackendChoice, env.hasWebGpu);
  const start: TrainStart = { request, backend, wasmBase: assetUrl('tfjs/') };
  send({ type: 'start', start });
});

void loadDemo();

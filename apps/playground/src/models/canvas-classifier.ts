import type { CanvasClassifierConfig, StnClassifierConfig } from '@attend/core';
import type { PlaygroundKind } from './kind.js';
import { drawStnPicture } from '../where-view.js';

/** The status line of the MLP kinds that read the canvas whole. */
const canvasSummary = (c: CanvasClassifierConfig | StnClassifierConfig) => ({ attention: `${c.numHiddenLayers} hidden layers`, layers: `${c.imageSize}×${c.imageSize} canvases, ${c.numClasses} classes` });

/** The plain classifier on the whole canvas. */
export const CANVAS_CLASSIFIER: PlaygroundKind<CanvasClassifierConfig> = { summary: canvasSummary };

/** The spatial transformer network: its sampling quadrilateral on the canvas and the image it sampled. */
export const STN_CLASSIFIER: PlaygroundKind<StnClassifierConfig> = { summary: canvasSummary, where: drawStnPicture };

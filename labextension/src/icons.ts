/** The extension's icon: two crossed swords, drawn with JupyterLab's icon colour class so themes apply. */
import { LabIcon } from '@jupyterlab/ui-components';

const SWORDS_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="none" stroke="#616161" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
    <path d="M4 4l11 11M20 4L9 15"/>
    <path d="M13 17l4-4M7 13l4 4"/>
    <path d="M16 16l4 4M8 16l-4 4"/>
  </g>
</svg>`;

export const duelIcon = new LabIcon({ name: 'jupyter-duel:swords', svgstr: SWORDS_SVG });

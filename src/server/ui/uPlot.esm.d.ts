// Types for the page's import of uPlot (served from the uplot package as /ui/assets/uPlot.esm.js).
export { default } from 'uplot';

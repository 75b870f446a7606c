// Accessible names for markup the book does not write itself (make a11y runs axe-core over every page).
// Jupyter Book adds every .js file of _static/ to every page.
//
// MyST-NB folds a figure's drawing code (a cell tagged hide-input) into <details class="hide">, whose
// <summary> reads "Show code cell source" ("Hide code cell source" when open) but carries
// aria-label="Toggle hidden content" (myst_nb/sphinx_.py, visit_HideCellInput, in MyST-NB 1.4): a screen
// reader or voice control then knows it by words that are not on the screen (axe-core:
// label-content-name-mismatch). Without the aria-label the summary is named by its visible text, which
// MyST-NB's CSS already switches between open and closed.
function mgptNameFoldedCode() {
  document.querySelectorAll('details.hide > summary[aria-label]').forEach(summary => {
    if (summary.textContent.trim()) summary.removeAttribute('aria-label');
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mgptNameFoldedCode);
else mgptNameFoldedCode();

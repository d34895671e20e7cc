/**
 * Confirmation in the page's modal <dialog>: focus starts on Cancel, Escape cancels, and focus
 * returns to the control that asked.
 */

const dialog = () => /** @type {HTMLDialogElement} */ (document.getElementById('confirm-dialog'));

/** Resolves true when the person confirms. */
export function confirmAction({ title, text, confirmLabel }) {
  const box = dialog();
  const ok = box.querySelector('[data-confirm]');
  const cancel = /** @type {HTMLButtonElement} */ (box.querySelector('[data-cancel]'));
  const opener = document.activeElement;
  box.querySelector('h2').textContent = title;
  box.querySelector('p').textContent = text;
  ok.textContent = confirmLabel;
  return new Promise((resolve) => {
    const done = (confirmed) => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      box.removeEventListener('close', onClose);
      if (box.open) box.close();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(confirmed);
    };
    const onOk = () => done(true);
    const onCancel = () => done(false);
    // Escape. The close event comes a task later: one from a previous confirmation can arrive
    // after this dialog opened (a quick Escape then Enter), and must not cancel it.
    const onClose = () => {
      if (!box.open) done(false);
    };
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    box.addEventListener('close', onClose);
    box.showModal();
    cancel.focus();
  });
}

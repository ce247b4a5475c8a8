import { createEffect, createUniqueId, Show, type JSX } from "solid-js";
import { Icon } from "./icon.tsx";

/**
 * A modal dialog on the native <dialog>: the browser traps focus, Escape closes it, and
 * focus returns to where it was.
 */
export function Dialog(props: { open: boolean; onClose: () => void; title: string; testid?: string; wide?: boolean; children: JSX.Element }) {
  let dialog!: HTMLDialogElement;
  const titleId = createUniqueId();
  createEffect(() => {
    if (props.open && !dialog.open) dialog.showModal();
    else if (!props.open && dialog.open) dialog.close();
  });
  return (
    <dialog
      ref={dialog}
      class="dialog"
      classList={{ wide: props.wide === true }}
      aria-labelledby={titleId}
      data-testid={props.testid}
      onClose={() => props.onClose()}
      onClick={(e) => {
        // A click on the backdrop (the dialog element itself, outside its content) closes it.
        if (e.target === dialog) props.onClose();
      }}
    >
      <Show when={props.open}>
        <div class="dialog-body">
          <header>
            <h2 id={titleId}>{props.title}</h2>
            <button class="icon-button ghost" aria-label="Close" onClick={() => props.onClose()}>
              <Icon name="close" />
            </button>
          </header>
          {props.children}
        </div>
      </Show>
    </dialog>
  );
}

/** Asks before something that cannot be undone (removing someone, ending the meeting). */
export function Confirm(props: {
  open: boolean;
  title: string;
  text: string;
  confirm: string;
  onConfirm: () => void;
  onClose: () => void;
  testid?: string;
}) {
  return (
    <Dialog open={props.open} onClose={props.onClose} title={props.title} {...(props.testid ? { testid: props.testid } : {})}>
      <p>{props.text}</p>
      <div class="row end">
        <button onClick={() => props.onClose()}>Cancel</button>
        <button
          class="danger"
          data-testid="confirm"
          onClick={() => {
            props.onConfirm();
            props.onClose();
          }}
        >
          {props.confirm}
        </button>
      </div>
    </Dialog>
  );
}

/* The script's events on document (docs/script.md, "Events"). */

// Returns false when a listener called preventDefault().
export function emit(name, detail, cancelable) {
  return document.dispatchEvent(new CustomEvent('livegate:' + name,
    { detail: detail, cancelable: !!cancelable }));
}

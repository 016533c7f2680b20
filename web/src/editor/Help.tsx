// The keyboard shortcuts, listed in one place (opened with `?`).
import { Modal } from "../components/ui";

export const SHORTCUTS: [string, string][] = [
  ["Ctrl+S", "save a new version"],
  ["Ctrl+Enter", "run the pipeline (saves first)"],
  ["Ctrl+Z", "undo"],
  ["Ctrl+Shift+Z, Ctrl+Y", "redo"],
  ["Delete or Backspace", "delete the selected steps and edges"],
  ["Ctrl+C, Ctrl+V", "copy, paste the selected steps"],
  ["Ctrl+A", "select every step"],
  ["/", "search the operator palette (Enter adds the first match)"],
  ["F", "fit the pipeline in view"],
  ["L", "auto-layout"],
  ["Shift+drag", "select several steps with a box"],
  ["?", "this help"],
  ["Esc", "close a dialog"],
];

export function Help({ onClose }: { onClose: () => void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose}>
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map(([k, d]) => (
            <tr key={k}><td><kbd>{k}</kbd></td><td>{d}</td></tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">On macOS, Cmd works wherever Ctrl is listed. Shortcuts that act on the canvas are off while you type in a field.</p>
    </Modal>
  );
}

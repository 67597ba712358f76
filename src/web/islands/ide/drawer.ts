/**
 * The side pane (files and people): a column beside the editor on wide screens that Ctrl+B
 * hides and shows, and a drawer over the editor on narrow ones (under 760 px), opened by the
 * "Files" button, closed by Escape, the backdrop or choosing a file; focus moves into it and
 * back to the button.
 */
import { byId } from "./dom.ts";

const narrowQuery = window.matchMedia("(max-width: 760px)");

export class SidePane {
  private readonly root = byId("ide");
  private readonly side = byId("ide-side");
  private readonly toggleButton = byId<HTMLButtonElement>("ide-drawer-toggle");
  private readonly backdrop = byId("ide-backdrop");
  private drawerOpen = false;

  constructor() {
    this.toggleButton.hidden = false;
    this.toggleButton.addEventListener("click", () => this.toggle());
    this.backdrop.addEventListener("click", () => this.closeDrawer());
    this.side.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.drawerOpen) {
        e.preventDefault();
        this.closeDrawer(true);
      }
    });
    narrowQuery.addEventListener("change", () => this.sync());
    this.sync();
  }

  get narrow(): boolean {
    return narrowQuery.matches;
  }

  /** Ctrl+B and the Files button: the drawer on narrow screens, the column on wide ones. */
  toggle(): void {
    if (this.narrow) {
      if (this.drawerOpen) this.closeDrawer(true);
      else this.openDrawer();
    } else {
      this.root.classList.toggle("ide-side-hidden");
      this.sync();
    }
  }

  /** Makes the pane visible (for "focus the tree" and the people count). */
  reveal(): void {
    if (this.narrow) this.openDrawer();
    else if (this.root.classList.contains("ide-side-hidden")) {
      this.root.classList.remove("ide-side-hidden");
      this.sync();
    }
  }

  openDrawer(): void {
    this.drawerOpen = true;
    this.sync();
    this.side.querySelector<HTMLElement>('[role="treeitem"][tabindex="0"], button, a')?.focus();
  }

  /** After a file was chosen on a narrow screen the drawer gets out of the way. */
  closeDrawer(returnFocus = false): void {
    if (!this.drawerOpen) return;
    this.drawerOpen = false;
    this.sync();
    if (returnFocus) this.toggleButton.focus();
  }

  private sync(): void {
    const narrow = this.narrow;
    const hiddenWide = this.root.classList.contains("ide-side-hidden");
    const visible = narrow ? this.drawerOpen : !hiddenWide;
    this.root.classList.toggle("ide-drawer-open", narrow && this.drawerOpen);
    this.backdrop.hidden = !(narrow && this.drawerOpen);
    this.toggleButton.setAttribute("aria-expanded", String(visible));
    // A closed drawer is out of the tab order and hidden from screen readers.
    this.side.inert = narrow && !this.drawerOpen;
  }
}

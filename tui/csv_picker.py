"""The CSV picker: a file tree of folders and CSV files, then the chosen file's columns.

Typing a path into the series form works, but a new user does not know the file's columns, which
one holds dates, or how many rows it has. The picker shows them: ``CsvPickerScreen`` lists the
folders and .csv/.txt files (keyboard: arrows, enter, backspace for the parent folder, esc to
cancel); a chosen file is previewed in a thread (``engine.series.preview_csv``: its first rows,
each column's type, its row count); ``CsvColumnsScreen`` then lets the user pick the value and
date columns and the split (80/20 of the rows proposed). Either screen dismisses with the
``CsvSeries`` to commit, or None; the series pane commits it through its normal path, so a
value that does not fit (a window longer than the training part) is marked at its field there.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, DirectoryTree, Input, Label, Static

from engine.errors import DataError
from engine.series import ColumnPreview, CsvPreview, load_series, preview_csv
from engine.specs import CsvSeries, check_value
from tui.screens import shown_path

SUFFIXES = (".csv", ".txt")
HELP_ROWS = [  # F1's rows for the picker (its keys are shown on it too)
    ("backspace", "CSV picker: the parent folder"),
    ("v / d", "CSV picker: the highlighted column as the value / date column"),
    ("h", "CSV picker: the first row is the header, or data"),
    ("enter / esc", "CSV picker: apply / back to the files, then cancel"),
]
VALUE_WIDTH = 10  # characters of one cell in the "first values" column


class CsvTree(DirectoryTree):
    """Folders and CSV files only (hidden ones left out), with icons of one cell's width (an
    emoji's width differs between terminals)."""

    ICON_NODE = "▸ "
    ICON_NODE_EXPANDED = "▾ "
    ICON_FILE = "  "

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p
            for p in paths
            if not p.name.startswith(".") and (p.suffix.lower() in SUFFIXES or self._safe_is_dir(p))
        ]


def start_folder(current: object, cwd: Path | None = None) -> Path:
    """Where the tree opens: the current CSV's folder when it exists, else the working folder."""
    cwd = cwd or Path.cwd()
    if isinstance(current, CsvSeries) and current.path.strip():
        folder = (cwd / Path(current.path).expanduser()).parent
        if folder.is_dir():
            return folder
    return cwd


class CsvPickerScreen(ModalScreen[CsvSeries | None]):
    """Step 1: a file tree; enter on a file previews it and opens the column chooser."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", show=False, id="csv.cancel"),
        Binding("backspace", "parent", "Parent folder", show=False, id="csv.parent"),
    ]

    def __init__(self, current: object, window: int) -> None:
        """``current``: the series spec in force (a CSV's season length is kept when the same
        file is picked again); ``window``: the window in force, for the split's note."""
        super().__init__()
        self.current = current
        self.window = window
        self.cwd = Path.cwd()  # paths in the folder are kept relative, as a user would type them
        self.reading: str | None = None  # the file being previewed

    def compose(self) -> ComposeResult:
        with Vertical(id="csv-picker", classes="modal-box"):
            folder = start_folder(self.current, self.cwd)
            yield Label(self._title(folder), id="csv-picker-title", classes="modal-title")
            yield CsvTree(folder, id="csv-tree")
            yield Static("", id="csv-problem", classes="picker-line")
            yield Static(
                "↑↓ move · enter open a folder or read a file · backspace parent folder · "
                "esc cancel",
                classes="modal-note",
            )

    def on_mount(self) -> None:
        self._problem("")
        self.query_one(CsvTree).focus()

    def _title(self, folder: Path) -> Text:
        return Text(f"Choose a CSV file · {folder}")

    def action_parent(self) -> None:
        tree = self.query_one(CsvTree)
        here = Path(tree.path).expanduser().resolve()
        if here.parent != here:
            tree.path = here.parent
            self.query_one("#csv-picker-title", Label).update(self._title(here.parent))
            self._problem("")

    def _problem(self, text: str, error: bool = True) -> None:
        line = self.query_one("#csv-problem", Static)
        line.update(Text(text))
        line.set_class(error, "-error")
        line.display = bool(text)

    @on(DirectoryTree.FileSelected)
    def _file_chosen(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        shown = shown_path(Path(event.path).expanduser().absolute(), self.cwd)
        self.reading = shown
        self._problem(f"Reading {shown}…", error=False)
        self._preview(shown)

    @work(thread=True, exclusive=True, group="csv-preview")
    def _preview(self, path: str) -> None:
        """Reads the file off the UI thread (it is counted to its end, within the limits)."""
        try:
            preview = preview_csv(path)
        except DataError as exc:
            self.app.call_from_thread(self._failed, path, str(exc))
            return
        self.app.call_from_thread(self._read, path, preview)

    def _failed(self, path: str, message: str) -> None:
        if self.reading == path:
            self.reading = None
            self._problem(message)

    def _read(self, path: str, preview: CsvPreview) -> None:
        if self.reading != path:
            return  # another file was chosen since
        self.reading = None
        self._problem("")
        current = self.current if isinstance(self.current, CsvSeries) else None
        self.app.push_screen(CsvColumnsScreen(preview, self.window, current), self._chosen)

    def _chosen(self, spec: CsvSeries | None) -> None:
        if spec is not None:
            self.dismiss(spec)


class ColumnTable(DataTable[object]):
    """The chooser's table: enter applies the choice instead of selecting a row.

    Not a priority binding on the screen: that would run before keys still queued at the table
    (h pressed just before enter would apply the file read the other way)."""

    BINDINGS = [Binding("enter", "screen.apply", "Apply", show=False, id="csv.apply")]


class CsvColumnsScreen(ModalScreen[CsvSeries | None]):
    """Step 2: the file's columns with their types and first values; v and d pick the value and
    date columns, h switches the header row, the split is typed; enter applies, esc goes back."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Back to files", show=False, id="csv.back"),
        Binding("v", "pick_value", "Value column", show=False, id="csv.value"),
        Binding("d", "pick_date", "Date column", show=False, id="csv.date"),
        Binding("h", "toggle_header", "Header row", show=False, id="csv.header"),
    ]

    def __init__(self, preview: CsvPreview, window: int, current: CsvSeries | None = None) -> None:
        super().__init__()
        self.preview = preview
        self.window = window
        self.current = current
        self.value = preview.value_column()
        self.date = preview.date_column()
        self.proposed = preview.proposed_split()

    def compose(self) -> ComposeResult:
        with Vertical(id="csv-columns", classes="modal-box"):
            yield Label("", id="csv-columns-title", classes="modal-title")
            yield ColumnTable(id="csv-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="csv-column-detail", classes="modal-note")
            with Horizontal(id="csv-split-line"):
                yield Label("split time", classes="field-label")
                yield Input(str(self.proposed), id="csv-split", compact=True, type="integer")
            yield Static("", id="csv-split-note", classes="modal-note")
            yield Static("", id="csv-columns-problem", classes="picker-line -error")
            yield Static(
                "↑↓ column · v value column · d date column (again: none) · h header row · "
                "tab split time · enter apply · esc back to files",
                classes="modal-note",
            )

    def on_mount(self) -> None:
        self.query_one("#csv-split", Input).cursor_blink = getattr(self.app, "blink", True)
        self._fill()
        self._show_split()
        self._problem("")
        table = self.query_one("#csv-table", DataTable)
        if self.value is not None:
            table.move_cursor(row=self.value.index, animate=False)
        table.focus()

    def on_resize(self) -> None:
        self._fill()

    # --- showing ---------------------------------------------------------------------------------

    def _fill(self) -> None:
        """The table, its widths fitted to the box so first values take the room that is left."""
        preview = self.preview
        header = "first row is the header" if preview.header else "no header row"
        more = (
            f" · {len(preview.columns)} of {preview.width:,} columns shown"
            if preview.width > len(preview.columns)
            else ""
        )
        self.query_one("#csv-columns-title", Label).update(
            Text(f"{preview.path} · {preview.rows:,} data rows · {header}{more}")
        )
        table = self.query_one("#csv-table", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        names = [c.name or "(no name)" for c in preview.columns]
        name_w, type_w, values_w = column_widths(
            self.size.width or 80,
            max(map(len, names), default=6),
            max((len(c.described) for c in preview.columns), default=4),
        )
        table.add_column("#", width=3, key="index")
        table.add_column("column", width=name_w, key="name")
        table.add_column("type", width=type_w, key="type")
        table.add_column("first values", width=values_w, key="first")
        table.add_column("use", width=5, key="use")
        for column, name in zip(preview.columns, names, strict=True):
            table.add_row(
                str(column.index),
                Text(name, style="" if column.name else "dim"),
                column.described,
                Text(first_values(column, values_w)),
                self._use(column),
                key=str(column.index),
            )
        if preview.columns:
            table.move_cursor(row=min(max(row, 0), len(preview.columns) - 1), animate=False)

    @on(DataTable.RowHighlighted, "#csv-table")
    def _show_detail(self) -> None:
        """The highlighted column in full (the table cuts long names and types to fit)."""
        column = self._highlighted()
        detail = self.query_one("#csv-column-detail", Static)
        if column is None:
            detail.update("")
            return
        values = ", ".join(c or "·" for c in column.first)
        detail.update(Text(f"{column.index}: {column.title} · {column.described} · {values}"))

    def _use(self, column: ColumnPreview) -> Text:
        if self.value is not None and column.index == self.value.index:
            return Text("value", style="bold")
        if self.date is not None and column.index == self.date.index:
            return Text("date", style="bold")
        return Text("")

    def _refresh_use(self) -> None:
        table = self.query_one("#csv-table", DataTable)
        for column in self.preview.columns:
            table.update_cell(str(column.index), "use", self._use(column))

    def _show_split(self) -> None:
        text = self.query_one("#csv-split", Input).value.strip()
        note = self.query_one("#csv-split-note", Static)
        rows = self.preview.rows
        try:
            split = int(text)
        except ValueError:
            note.update("")
            return
        if rows < 2:
            note.update(f"{rows} data row{'s' * (rows != 1)}: too few to train and validate")
            return
        if not 1 <= split < rows:
            note.update(f"of {rows:,} rows: a split time from 1 to {rows - 1:,} leaves both parts")
            return
        share = f" ({round(100 * split / rows)}/{100 - round(100 * split / rows)})" if rows else ""
        fits = (
            f"windows of {self.window}: {split - self.window:,} training windows"
            if split > self.window
            else f"no training window of {self.window} fits: lower window.window after applying"
        )
        note.update(
            f"of {rows:,} rows: {split:,} for training, {rows - split:,} for validation"
            f"{share} · {fits}"
        )

    def _problem(self, text: str) -> None:
        line = self.query_one("#csv-columns-problem", Static)
        line.update(Text(text))
        line.display = bool(text)

    @on(Input.Changed, "#csv-split")
    def _split_changed(self) -> None:
        self._show_split()
        self._problem("")

    @on(Input.Submitted, "#csv-split")
    def _split_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    # --- keys ------------------------------------------------------------------------------------

    def _highlighted(self) -> ColumnPreview | None:
        table = self.query_one("#csv-table", DataTable)
        columns = self.preview.columns
        return columns[table.cursor_row] if 0 <= table.cursor_row < len(columns) else None

    def action_pick_value(self) -> None:
        column = self._highlighted()
        if column is None:
            return
        if column.kind != "number":
            what = "dates" if column.kind == "date" else "text"
            self._problem(
                f"{column.title} holds {what}, not numbers: the value column must be a number "
                "column"
            )
            return
        self.value = column
        if self.date is not None and self.date.index == column.index:
            self.date = None
        self._problem("")
        self._refresh_use()

    def action_pick_date(self) -> None:
        column = self._highlighted()
        if column is None:
            return
        if self.value is not None and column.index == self.value.index:
            self._problem(f"{column.title} is the value column; pick another as the date column")
            return
        self.date = None if self.date is not None and self.date.index == column.index else column
        self._problem("")
        self._refresh_use()

    def action_toggle_header(self) -> None:
        """Reads the first row as data, or as the header; the proposals follow."""
        split = self.query_one("#csv-split", Input)
        keep_split = split.value.strip() != str(self.proposed)
        self.preview = self.preview.with_header(not self.preview.header)
        self.value = self.preview.value_column()
        self.date = self.preview.date_column()
        self.proposed = self.preview.proposed_split()
        if not keep_split:
            split.value = str(self.proposed)
        self._fill()
        self._show_split()
        self._problem("" if self.value is not None else "no column holds numbers read this way")

    def action_apply(self) -> None:
        """Checks the choice (a value column, a split within the rows, every value cell a number)
        and dismisses with the spec; what is wrong stays on screen in one line."""
        spec = self.spec()
        if spec is None:
            return
        try:
            load_series(spec)  # the whole file: every value cell a number; the window: the pane
        except DataError as exc:
            self._problem(str(exc))
            return
        self.dismiss(spec)

    def spec(self) -> CsvSeries | None:
        """The CSV series chosen, or None with the problem shown."""
        if self.value is None:
            self._problem("no value column: move to a number column and press v")
            return None
        text = self.query_one("#csv-split", Input).value.strip()
        rows = self.preview.rows
        if rows < 2:
            self._problem(
                f"{self.preview.path}: {rows} data row{'s' * (rows != 1)}; a series needs at "
                "least 2 (one to train on, one to validate)"
            )
            return None
        try:
            split = int(text)
        except ValueError:
            split = -1
        problem = check_value(CsvSeries, "split_time", split, "series.split_time")
        if problem is not None or not 1 <= split < rows:
            self._problem(
                f"series.split_time = {text!r}: allowed: a whole number from 1 to {rows - 1:,} "
                f"(the file has {rows:,} data rows)"
            )
            return None
        same_file = self.current is not None and self.current.path == self.preview.path
        return CsvSeries(
            path=self.preview.path,
            column=self.value.key,
            header=self.preview.header,
            date_column=self.date.key if self.date is not None else None,
            split_time=split,
            period=self.current.period if same_file and self.current is not None else None,
        )


def first_values(column: ColumnPreview, width: int) -> str:
    """As many of a column's first values as fit in ``width``, each cut to a few characters."""
    out = ""
    for cell in column.first:
        text = cell if len(cell) <= VALUE_WIDTH else cell[: VALUE_WIDTH - 1] + "…"
        text = text or "·"  # a blank cell
        joined = f"{out}, {text}" if out else text
        if len(joined) > width:
            return f"{out}, …" if out and len(out) + 3 <= width else out or text[:width]
        out = joined
    return out


def column_widths(screen: int, name: int, kind: int) -> tuple[int, int, int]:
    """Widths of the name, type and first-values columns in a box on a screen ``screen`` wide:
    names as long as they are up to 24, types up to 28, while first values keep 14; on a narrow
    screen the names give way first, then the types (the line under the table has them whole)."""
    box = min(int(screen * 0.9), 100)  # .modal-box: 90%, at most 100
    # border and padding 4, a scrollbar 2; '#' 3 and use 5; two cells of padding per column
    room = box - 6 - 3 - 5 - 10
    name, kind = min(name, 24), min(kind, 28)
    over = name + kind + 14 - room
    if over > 0:
        name_cut = min(over, max(name - 12, 0))
        name -= name_cut
        kind -= min(over - name_cut, max(kind - 12, 0))
    return name, kind, max(room - name - kind, 14)

"""`kmrecon gui [FILE]`: open the desktop application (optionally on a figure or project)."""
from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("file", nargs="?", help="figure (PNG/JPEG/TIFF/BMP/WebP/PDF) or .kmrecon project to open")
    parser.add_argument("--no-auto", action="store_true", help="do not propose axes/arms automatically")


def run(args) -> int:
    import sys

    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow, install_excepthook

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("KMRecon")
    app.setApplicationName("KMRecon")
    window = MainWindow(auto_propose=not args.no_auto)
    install_excepthook(window)
    window.show()
    recovered = window.check_recovery()
    if args.file and not recovered:
        window.open_file(args.file)
    return app.exec()

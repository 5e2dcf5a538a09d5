"""Front end 1: the Typer command line. One module per command, thin: parse -> service -> render."""

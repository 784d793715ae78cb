from llmops.cli import app

app(prog_name="llmops")

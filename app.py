"""The kubewatch server: `python app.py` serves it; `flask` commands find it here."""

from kubewatch import create_app

app = create_app()

if __name__ == "__main__":
    from kubewatch.server import serve

    serve(app)

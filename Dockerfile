# docsvc: `docsvc serve` (gunicorn with its configuration check and header limits) serving
# create_app() on PostgreSQL + S3 in production.
# Build: docker build -t docsvc .   Run: compose.yaml, or see README ("Production").
FROM python:3.11-slim-bookworm

# poppler-utils: pdftotext/pdftoppm used to place signatures by the signer's name;
# tesseract-ocr + tesseract-ocr-vie: OCR of scanned notices (ocrmypdf, run by `docsvc jobs worker`);
# libsofthsm2/opensc are not needed in production (real tokens bring their own PKCS#11 library).
RUN apt-get update \
 && apt-get install -y --no-install-recommends poppler-utils fonts-noto-core tesseract-ocr tesseract-ocr-vie \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --home-dir /srv/docsvc docsvc
WORKDIR /srv/docsvc/app

# The same pinned versions as scripts/run and scripts/test (refresh: bash scripts/lock).
COPY requirements.lock pyproject.toml setup.py README.md ./
COPY docsvc ./docsvc
COPY schemas ./schemas
RUN pip install --no-cache-dir -c requirements.lock . \
 && python -c "import docsvc.exchange as x; x.load_schemas()"

ENV DOCSVC_ENV=production \
    DOCSVC_DATA_DIR=/srv/docsvc/var \
    PYTHONUNBUFFERED=1
RUN mkdir -p /srv/docsvc/var && chown docsvc /srv/docsvc/var
USER docsvc
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4)"]

# Once per deployment, before the new version serves (migrations, bucket; safe to repeat):
#   docker run --rm --env-file docsvc.env docsvc docsvc init
# The push worker is the same image with the command `docsvc worker`. compose.yaml wires all of it.
CMD ["docsvc", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4", "--threads", "8"]

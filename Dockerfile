# docsvc: gunicorn serving create_app() on PostgreSQL + S3 in production.
# Build: docker build -t docsvc .   Run: see README ("Production").
FROM python:3.11-slim-bookworm

# poppler-utils: pdftotext/pdftoppm; tesseract-ocr(-vie): the signer's name on scans, to place
# signatures;
# libsofthsm2/opensc are not needed in production (real tokens bring their own PKCS#11 library).
RUN apt-get update \
 && apt-get install -y --no-install-recommends poppler-utils fonts-noto-core \
    tesseract-ocr tesseract-ocr-vie \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --home-dir /srv/docsvc docsvc
WORKDIR /srv/docsvc/app

COPY pyproject.toml README.md ./
COPY docsvc ./docsvc
COPY schemas ./schemas
RUN pip install --no-cache-dir .

ENV DOCSVC_ENV=production \
    DOCSVC_DATA_DIR=/srv/docsvc/var \
    PYTHONUNBUFFERED=1
RUN mkdir -p /srv/docsvc/var && chown docsvc /srv/docsvc/var
USER docsvc
EXPOSE 8000

# Migrations run once per deployment: docker run … docsvc db upgrade
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "8", \
     "--worker-class", "gthread", "--timeout", "300", "--limit-request-field_size", "65536", "--access-logfile", "-", \
     "docsvc.app:create_app()"]

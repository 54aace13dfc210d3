"""The mixed workload of the load test (run by bench/load_test.py, not by hand):
60% list/search/read, 20% upload+register, 10% sign, 10% verify.

Configuration comes from the environment that load_test.py sets: tokens, the ids of the
documents to read and of the registered documents waiting to be signed, the signed PDF to verify.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

from locust import HttpUser, between, events, task

CLERK = {"Authorization": f"Bearer {os.environ.get('LOAD_CLERK_TOKEN', '')}"}
SIGNER = {"Authorization": f"Bearer {os.environ.get('LOAD_SIGNER_TOKEN', '')}"}
WORK = Path(os.environ.get("LOAD_WORK_DIR", "."))
BOX = [335.0, 395.0, 485.0, 460.0]
METADATA = json.dumps({"direction": "outgoing", "organ_id": os.environ.get("LOAD_ORGAN_ID", ""),
                       "organ_name": "UBND tỉnh (load test)", "type_name": "Thông báo",
                       "code_notation": "TB-UBND", "subject": "Thông báo kết luận (load test)"})


def _lines(name: str) -> list[str]:
    path = WORK / name
    return path.read_text().split() if path.exists() else []


READABLE = _lines("readable.txt")
TO_SIGN = _lines("to_sign.txt")
random.shuffle(TO_SIGN)
NOTICE = (WORK / "notice.pdf").read_bytes() if (WORK / "notice.pdf").exists() else b""
SIGNED = (WORK / "signed.pdf").read_bytes() if (WORK / "signed.pdf").exists() else b""


def _record(environment, name: str, started: float, error: Exception | None) -> None:  # type: ignore[no-untyped-def]
    environment.events.request.fire(request_type="FLOW", name=name, response_length=0,
                                    response_time=(time.perf_counter() - started) * 1000,
                                    exception=error, context={})


class Clerk(HttpUser):
    """A user of the registry: mostly reading, some filing, signing and checking."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        if os.environ.get("LOAD_EVERY_TASK_FIRST"):  # smoke mode: every operation runs
            for run in (self.list_documents, self.search, self.read, self.upload_and_register,
                        self.sign, self.verify):
                run()

    @task(30)
    def list_documents(self) -> None:
        self.client.get("/documents?limit=20", headers=CLERK, name="list")

    @task(10)
    def search(self) -> None:
        self.client.get("/documents?q=load&limit=20", headers=CLERK, name="search")

    @task(20)
    def read(self) -> None:
        if READABLE:
            self.client.get(f"/documents/{random.choice(READABLE)}", headers=CLERK, name="read")

    def _upload_register(self, name_prefix: str) -> str | None:
        made = self.client.post("/documents", headers=CLERK, name=f"{name_prefix}upload",
                                files={"file": ("tb.pdf", NOTICE, "application/pdf")},
                                data={"metadata": METADATA})
        if made.status_code != 201:
            return None
        document_id = made.json()["id"]
        done = self.client.post(f"/documents/{document_id}/register", headers=CLERK,
                                name=f"{name_prefix}register")
        return document_id if done.status_code == 200 else None

    @task(20)
    def upload_and_register(self) -> None:
        started = time.perf_counter()
        made = self._upload_register("")
        _record(self.environment, "upload+register", started,
                None if made else RuntimeError("upload or register failed"))

    @task(10)
    def sign(self) -> None:
        document_id = TO_SIGN.pop() if TO_SIGN else self._upload_register("sign-setup ")
        if document_id is None:
            return
        self.client.post(f"/documents/{document_id}/signatures", headers=SIGNER, name="sign",
                         json={"role": "person", "signer": "demo-person", "level": "B-B",
                               "placement": {"page": 1, "box": BOX}})

    @task(10)
    def verify(self) -> None:
        self.client.post("/verify", headers={**CLERK, "Content-Type": "application/pdf"},
                         data=SIGNED, name="verify")


@events.quitting.add_listener
def _exit_code(environment, **_kw) -> None:  # type: ignore[no-untyped-def]
    environment.process_exit_code = 0  # failures are reported in the table, not as an exit code

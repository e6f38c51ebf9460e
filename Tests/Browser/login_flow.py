#!/usr/bin/env python3
"""Signs in through the gateway's login page in headless Chromium (Debian's chromium and chromium-driver, driven
with selenium), as a user would: opens the authorization URL, keeps a screenshot of the login page, fills the form,
submits it, and waits for the browser to arrive at the client's redirect URI, served here on a loopback port.

Prints one JSON object: the redirect's query parameters, and the login page's title and language.
Used by Tests/EndToEndTests/BrowserLoginTests.swift."""
import argparse
import http.server
import json
import threading
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

parser = argparse.ArgumentParser()
parser.add_argument("--authorize-url", required=True)
parser.add_argument("--callback-port", type=int, required=True)
parser.add_argument("--email", required=True)
parser.add_argument("--password", required=True)
parser.add_argument("--screenshot", required=True)
parser.add_argument("--language", default="en")
args = parser.parse_args()

arrived = threading.Event()
callback = {}


class Callback(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/callback":
            callback.update({k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()})
            arrived.set()
        body = b"<!DOCTYPE html><title>Client</title><p>Signed in.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", args.callback_port), Callback)
threading.Thread(target=server.serve_forever, daemon=True).start()

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 # The gateway's certificate is the test system's own, from a CA the browser does not know.
                 "--ignore-certificate-errors", "--window-size=900,720", f"--lang={args.language}"]:
    options.add_argument(argument)
options.add_experimental_option("prefs", {"intl.accept_languages": args.language})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
try:
    driver.set_page_load_timeout(30)
    driver.get(args.authorize_url)
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "email"))
    page = {"title": driver.title, "lang": driver.find_element(By.TAG_NAME, "html").get_attribute("lang")}
    driver.save_screenshot(args.screenshot)
    driver.find_element(By.ID, "email").send_keys(args.email)
    driver.find_element(By.ID, "password").send_keys(args.password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    if not arrived.wait(30):
        raise SystemExit(f"the browser did not reach the redirect URI; it is at {driver.current_url}")
    WebDriverWait(driver, 30).until(lambda d: d.current_url.startswith(f"http://127.0.0.1:{args.callback_port}/"))
    print(json.dumps({"callback": callback, "page": page, "final_url": driver.current_url}))
finally:
    driver.quit()
    server.shutdown()

"""Headless Chromium from the system's packages, the study's server in a child process and a
scripted reader of the Turing-test page: shared by tests/test_turing_browser.py and
benchmarks/turing_scripted_readers.py. Selenium is pointed at /usr/bin's chromium and chromedriver,
so nothing is downloaded."""

import os
import signal
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM, DRIVER = shutil.which('chromium'), shutil.which('chromedriver')
KEYS = {'cyst': 'c', 'metastasis': 'm', 'hemangioma': 'h'}


def command(*args, **kw):
  env = dict(os.environ, XLA_FLAGS='', JAX_PLATFORMS='cpu')
  return subprocess.run([sys.executable, '-m', 'liverjax.tools.turing', *args], cwd=ROOT,
                        env=env, capture_output=True, text=True, timeout=600, **kw)


class Server:
  """`python -m liverjax.tools.turing serve` in a child process, on a free localhost port."""

  def __init__(self, workdir: str, log_path: str):
    self.workdir, self.log_path = workdir, log_path
    with socket.socket() as s:
      s.bind(('127.0.0.1', 0))
      self.port = s.getsockname()[1]
    self.base = f'http://localhost:{self.port}'
    self.proc = None

  def start(self):
    log = open(self.log_path, 'a')
    self.proc = subprocess.Popen(
        [sys.executable, '-m', 'liverjax.tools.turing', 'serve', f'--workdir={self.workdir}',
         f'--port={self.port}'], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
      try:
        socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
        return
      except OSError:
        assert self.proc.poll() is None, open(self.log_path).read()
        time.sleep(0.2)
    raise TimeoutError(open(self.log_path).read())

  def kill(self):
    self.proc.send_signal(signal.SIGKILL)
    self.proc.wait(timeout=30)


def browser():
  from selenium import webdriver
  from selenium.webdriver.chrome.service import Service
  options = webdriver.ChromeOptions()
  options.binary_location = CHROMIUM
  for arg in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage',
              '--window-size=900,1000'):
    options.add_argument(arg)
  return webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))


def read(driver, url, choose, keyboard=True, stop_after=None, pages=None):
  """A scripted reader: answers each image with choose(item) -> (synthetic, class name,
  confidence), by keyboard shortcuts or by clicks; returns {item: (synthetic, label index,
  confidence)} of what it sent."""
  from selenium.webdriver.common.action_chains import ActionChains
  from selenium.webdriver.common.by import By
  from selenium.webdriver.common.keys import Keys
  from selenium.common.exceptions import WebDriverException
  from selenium.webdriver.support.ui import WebDriverWait
  classes = list(KEYS)
  sent = {}
  driver.get(url)
  while 'images answered' not in driver.page_source and len(sent) != stop_after:
    if pages is not None:
      pages.append((driver.page_source, driver.find_element(By.TAG_NAME, 'img')
                    .get_attribute('src')))
    item = driver.find_element(By.NAME, 'item').get_attribute('value')
    synthetic, name, confidence = choose(item)
    if keyboard:
      ActionChains(driver).send_keys('s' if synthetic else 'r', KEYS[name], str(confidence),
                                     Keys.ENTER).perform()
    else:
      for field, value in (('source', 'synthetic' if synthetic else 'real'),
                           ('label', classes.index(name)), ('confidence', confidence)):
        driver.find_element(By.CSS_SELECTOR, f'input[name={field}][value="{value}"]').click()
      driver.find_element(By.CSS_SELECTOR, 'button[type=submit]').click()
    WebDriverWait(driver, 20, ignored_exceptions=(WebDriverException,)).until(
        lambda d: 'images answered' in d.page_source or f'value="{item}"' not in d.page_source)
    sent[item] = (int(synthetic), classes.index(name), confidence)
  return sent



import io
import unittest
from contextlib import redirect_stdout
from unittest import mock

from main import count_words, main, top_words


class CountWordsTest(unittest.TestCase):
    def test_counts_case_insensitively_and_skips_numbers(self):
        counts = count_words(["To be, or not to be:", "that is 1 question. Don't!"])
        self.assertEqual(counts["to"], 2)
        self.assertEqual(counts["be"], 2)
        self.assertEqual(counts["don't"], 1)
        self.assertNotIn("1", counts)

    def test_top_words_breaks_ties_alphabetically(self):
        counts = count_words(["b a c a b"])
        self.assertEqual(top_words(counts, 2), [("a", 2), ("b", 2)])


class MainTest(unittest.TestCase):
    def test_reads_standard_input(self):
        out = io.StringIO()
        with mock.patch("sys.stdin", io.StringIO("hello hello world")), redirect_stdout(out):
            self.assertEqual(main(["--top", "1"]), 0)
        self.assertEqual(out.getvalue().split(), ["hello", "2"])

    def test_missing_file_is_an_error(self):
        self.assertEqual(main(["does-not-exist.txt"]), 1)


if __name__ == "__main__":
    unittest.main()

// gen-csv: writes realistic, deterministic sample data for the three source tables.
//
//   gen-csv [--out DIR] [--table klienci|pracownicy|projekty] [--rows N] [--seed S]
//
// Defaults: all three tables into csv_files/ with 2000 klienci (18 countries), 800 pracownicy (13
// positions, ages 18-70) and 150 projekty. The same seed always gives the same bytes (a private
// splitmix64 generator, no std:: distributions whose output differs between libraries). Polish names
// with diacritics (UTF-8); some fields need quoting: commas, doubled quotes, and line breaks inside.
// --rows N overrides the row count of every generated table (benchmarks use 1,000,000).
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "pg/csv_reader.h"

namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return Next() % n; }
  int Between(int lo, int hi) { return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo + 1))); }
  bool Chance(int percent) { return Below(100) < static_cast<uint64_t>(percent); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }

 private:
  uint64_t s_;
};

const std::vector<std::string> kMaleNames = {
    "Łukasz", "Paweł",  "Michał",    "Jędrzej",     "Zdzisław", "Krzysztof", "Wojciech", "Tomasz",
    "Piotr",  "Andrzej", "Stanisław", "Józef",      "Bartłomiej", "Przemysław", "Błażej", "Mikołaj",
    "Jakub",  "Mateusz", "Grzegorz",  "Maciej",     "Sławomir", "Bogdan",    "Rafał",    "Kacper"};
const std::vector<std::string> kFemaleNames = {
    "Małgorzata", "Grażyna", "Żaneta",  "Bożena",  "Agnieszka", "Jolanta", "Elżbieta", "Ewa",
    "Anna",       "Katarzyna", "Zofia", "Łucja",   "Wiesława",  "Dorota",  "Magdalena", "Joanna",
    "Urszula",    "Jadwiga", "Halina",  "Ilona",   "Weronika",  "Róża",    "Beata",    "Alicja"};
const std::vector<std::string> kSurnames = {
    "Nowak",      "Kowalski",  "Wiśniewski", "Wójcik",     "Kowalczyk", "Kamiński",  "Lewandowski", "Zieliński",
    "Szymański",  "Woźniak",   "Dąbrowski",  "Kozłowski",  "Jankowski", "Mazur",     "Wojciechowski", "Kwiatkowski",
    "Krawczyk",   "Kaczmarek", "Piotrowski", "Grabowski",  "Zając",     "Pawłowski", "Michalski",   "Król",
    "Wieczorek",  "Jabłoński", "Wróbel",     "Nowakowski", "Majewski",  "Olszewski", "Stępień",     "Jaworski",
    "Malinowski", "Dudek",     "Górski",     "Rutkowski",  "Sikora",    "Baran",     "Żak",         "Łuczak",
    "Świątek",    "Głowacki",  "Bąk",        "Pająk",      "Chmielewski", "Ścibor-Rylski"};
const std::vector<std::string> kWords = {"Bursztyn", "Orzeł",  "Wisła",  "Tatry",   "Mazowsze", "Żuraw",
                                         "Sokół",    "Kłos",   "Dąb",    "Jantar",  "Pomorze",  "Śnieżka",
                                         "Warta",    "Odra",   "Gniezno", "Łosoś",  "Żubr",     "Mewa"};
struct Country {
  const char* name;
  const char* phone_prefix;
  int phone_digits;
  const char* tld;
};
const std::vector<Country> kCountries = {
    {"Polska", "+48", 9, "pl"},          {"Niemcy", "+49", 10, "de"},     {"Czechy", "+420", 9, "cz"},
    {"Słowacja", "+421", 9, "sk"},       {"Litwa", "+370", 8, "lt"},      {"Ukraina", "+380", 9, "ua"},
    {"Francja", "+33", 9, "fr"},         {"Włochy", "+39", 10, "it"},     {"Hiszpania", "+34", 9, "es"},
    {"Wielka Brytania", "+44", 10, "uk"}, {"Holandia", "+31", 9, "nl"},   {"Szwecja", "+46", 9, "se"},
    {"Norwegia", "+47", 8, "no"},        {"Dania", "+45", 8, "dk"},       {"Austria", "+43", 10, "at"},
    {"Węgry", "+36", 9, "hu"},           {"Stany Zjednoczone", "+1", 10, "com"}, {"Kanada", "+1", 10, "ca"}};
const std::vector<std::string> kPositions = {
    "Programista",     "Analityk danych",       "Kierownik projektu", "Tester",
    "Administrator systemów", "Specjalista ds. kadr", "Księgowy",     "Handlowiec",
    "Grafik",          "Architekt oprogramowania", "Asystent zarządu", "Magazynier",
    "Dyrektor finansowy"};
const std::vector<std::string> kProjectKinds = {"Wdrożenie systemu ERP", "Migracja do chmury", "Aplikacja mobilna",
                                                "Sklep internetowy", "Hurtownia danych", "Portal klienta",
                                                "Integracja płatności", "Audyt bezpieczeństwa", "System magazynowy"};

// ASCII form of a Polish name for e-mail addresses: "Łukasz" -> "lukasz".
std::string Ascii(std::string_view s) {
  static const std::pair<const char*, char> kMap[] = {
      {"ą", 'a'}, {"ć", 'c'}, {"ę", 'e'}, {"ł", 'l'}, {"ń", 'n'}, {"ó", 'o'}, {"ś", 's'}, {"ź", 'z'}, {"ż", 'z'},
      {"Ą", 'a'}, {"Ć", 'c'}, {"Ę", 'e'}, {"Ł", 'l'}, {"Ń", 'n'}, {"Ó", 'o'}, {"Ś", 's'}, {"Ź", 'z'}, {"Ż", 'z'}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool done = false;
    for (const auto& [from, to] : kMap) {
      size_t n = std::strlen(from);
      if (s.substr(i, n) == from) {
        out.push_back(to);
        i += n;
        done = true;
        break;
      }
    }
    if (done) continue;
    char c = s[i++];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out.push_back(c);
    else if (c == '-' || c == ' ') out.push_back('-');
  }
  return out;
}

// The female form of a surname: Kowalski -> Kowalska, Głowacki -> Głowacka.
std::string Female(const std::string& surname) {
  if (surname.size() > 1 && surname.compare(surname.size() - 1, 1, "i") == 0 &&
      (surname.size() > 3 && (surname.compare(surname.size() - 3, 3, "ski") == 0 ||
                              surname.compare(surname.size() - 3, 3, "cki") == 0))) {
    return surname.substr(0, surname.size() - 1) + "a";
  }
  if (surname == "Ścibor-Rylski") return "Ścibor-Rylska";
  return surname;
}

void Field(std::string* out, std::string_view v) { cdc::pg::AppendCsvField(out, v); }

class Writer {
 public:
  explicit Writer(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    if (!f_) {
      std::fprintf(stderr, "gen-csv: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
      std::exit(1);
    }
    buf_.reserve(1 << 20);
  }
  ~Writer() {
    Flush();
    if (std::fclose(f_) != 0) {
      std::fprintf(stderr, "gen-csv: writing %s failed\n", path_.c_str());
      std::exit(1);
    }
  }
  std::string* buf() { return &buf_; }
  void EndRow() {
    buf_.push_back('\n');
    if (buf_.size() > (1 << 20)) Flush();
  }

 private:
  void Flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) {
      std::fprintf(stderr, "gen-csv: writing %s failed: %s\n", path_.c_str(), std::strerror(errno));
      std::exit(1);
    }
    buf_.clear();
  }
  std::string path_;
  FILE* f_;
  std::string buf_;
};

std::string Digits(Rng& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + (i == 0 ? rng.Between(1, 9) : rng.Between(0, 9))));
  return s;
}

void GenKlienci(const std::string& path, uint64_t rows, uint64_t seed) {
  Rng rng(seed ^ 0x6B6C69656E6369ULL);
  Writer w(path);
  std::string* b = w.buf();
  b->append("id,nazwa,email,kraj,telefon");
  w.EndRow();
  for (uint64_t id = 1; id <= rows; ++id) {
    // Poland is the home market: about 40% of the customers.
    const Country& c = rng.Chance(40) ? kCountries[0] : kCountries[1 + rng.Below(kCountries.size() - 1)];
    const std::string& sur = rng.Pick(kSurnames);
    const std::string& word = rng.Pick(kWords);
    std::string name;
    switch (rng.Below(6)) {
      case 0: name = sur + " i Wspólnicy sp. j."; break;
      case 1: name = "\"" + word + "\" Sp. z o.o."; break;           // quotes inside
      case 2: name = word + ", " + sur + " S.A."; break;            // comma inside
      case 3: name = "PHU " + sur + " " + rng.Pick(kMaleNames); break;
      case 4: name = "Zakład \"" + word + "\", " + Female(sur); break;  // both
      default: name = word + " " + sur + " Sp.k."; break;
    }
    std::string email;
    if (!rng.Chance(8)) email = "kontakt" + std::to_string(id) + "@" + Ascii(word) + "-" + Ascii(sur) + "." + c.tld;
    std::string phone;
    if (!rng.Chance(10)) phone = std::string(c.phone_prefix) + " " + Digits(rng, c.phone_digits);
    *b += std::to_string(id);
    b->push_back(',');
    Field(b, name);
    b->push_back(',');
    Field(b, email);
    b->push_back(',');
    Field(b, c.name);
    b->push_back(',');
    Field(b, phone);
    w.EndRow();
  }
}

void GenPracownicy(const std::string& path, uint64_t rows, uint64_t seed) {
  Rng rng(seed ^ 0x7072616376ULL);
  Writer w(path);
  std::string* b = w.buf();
  b->append("id,imie,nazwisko,email,wiek,stanowisko");
  w.EndRow();
  for (uint64_t id = 1; id <= rows; ++id) {
    bool female = rng.Chance(50);
    const std::string& first = female ? rng.Pick(kFemaleNames) : rng.Pick(kMaleNames);
    std::string last = female ? Female(rng.Pick(kSurnames)) : rng.Pick(kSurnames);
    std::string email = Ascii(first) + "." + Ascii(last) + std::to_string(id) + "@firma.pl";
    *b += std::to_string(id);
    b->push_back(',');
    Field(b, first);
    b->push_back(',');
    Field(b, last);
    b->push_back(',');
    Field(b, email);
    b->push_back(',');
    *b += std::to_string(rng.Between(18, 70));
    b->push_back(',');
    Field(b, rng.Pick(kPositions));
    w.EndRow();
  }
}

std::string Date(int y, int m, int d) {
  char s[48];
  std::snprintf(s, sizeof s, "%04d-%02d-%02d", y, m, d);
  return s;
}

void GenProjekty(const std::string& path, uint64_t rows, uint64_t seed) {
  Rng rng(seed ^ 0x70726F6AULL);
  Writer w(path);
  std::string* b = w.buf();
  b->append("id,nazwa,opis,data_rozpoczecia,data_zakonczenia");
  w.EndRow();
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (uint64_t id = 1; id <= rows; ++id) {
    const std::string& kind = rng.Pick(kProjectKinds);
    const std::string& word = rng.Pick(kWords);
    std::string name = kind + " \"" + word + "\"";
    std::string opis;
    switch (rng.Below(5)) {
      case 0: opis = "Analiza, projekt i wdrożenie; klient: " + rng.Pick(kSurnames) + "."; break;
      case 1: opis = "Etap 1: analiza wymagań\nEtap 2: wdrożenie \"" + word + "\""; break;  // line break inside
      case 2: opis = "Zespół " + std::to_string(rng.Between(2, 15)) + " osób, budżet " +
                     std::to_string(rng.Between(50, 900)) + " tys. zł"; break;
      case 3: break;  // no description: NULL
      default: opis = "Utrzymanie i rozwój systemu dla działu " + rng.Pick(kPositions) + "."; break;
    }
    int y = rng.Between(2016, 2025), m = rng.Between(1, 12), d = rng.Between(1, kDays[m - 1]);
    std::string start = Date(y, m, d);
    std::string end;
    if (!rng.Chance(25)) {  // a quarter of the projects are still running
      int months = rng.Between(1, 36);
      int ey = y + (m - 1 + months) / 12, em = (m - 1 + months) % 12 + 1;
      end = Date(ey, em, std::min(d, kDays[em - 1]));
    }
    *b += std::to_string(id);
    b->push_back(',');
    Field(b, name);
    b->push_back(',');
    Field(b, opis);
    b->push_back(',');
    *b += start;
    b->push_back(',');
    *b += end;
    w.EndRow();
  }
}

int Usage() {
  std::fprintf(stderr,
               "usage: gen-csv [--out DIR] [--table klienci|pracownicy|projekty] [--rows N] [--seed S]\n"
               "  defaults: --out csv_files, all tables, 2000/800/150 rows, --seed 20261125\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = "csv_files", table;
  uint64_t rows = 0, seed = 20261125;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gen-csv: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--out") out = value();
    else if (a == "--table") table = value();
    else if (a == "--rows") rows = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--seed") seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "-h" || a == "--help") return Usage();
    else {
      std::fprintf(stderr, "gen-csv: unknown argument '%s'\n", a.c_str());
      return Usage();
    }
  }
  if (!table.empty() && table != "klienci" && table != "pracownicy" && table != "projekty") {
    std::fprintf(stderr, "gen-csv: unknown table '%s'\n", table.c_str());
    return Usage();
  }
  auto want = [&](const char* t) { return table.empty() || table == t; };
  if (want("klienci")) GenKlienci(out + "/klienci.csv", rows ? rows : 2000, seed);
  if (want("pracownicy")) GenPracownicy(out + "/pracownicy.csv", rows ? rows : 800, seed);
  if (want("projekty")) GenProjekty(out + "/projekty.csv", rows ? rows : 150, seed);
  return 0;
}

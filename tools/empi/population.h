// Synthetic population of a Chinese county for testing the EMPI: households
// in villages (lineage villages share a surname), couples, children, twins,
// grandparents, common names by real frequency, and the records that
// village clinics, township hospitals and the county hospital make of them,
// with the errors seen in practice (missing or mistyped ID numbers, a
// relative's ID card, homophones and similar-looking characters, lunar
// birthdays, day/month swaps, YYYY-01-01 placeholders, shared and changed
// phones, partial addresses). Everything is invented; no real person.
// Thread rules: GeneratePopulation is a pure function of its options.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "empi/types.h"

namespace hie::empi::tools {

struct PopulationOptions {
  uint64_t seed = 1;
  size_t persons = 10000;
  double records_per_person = 2.2;  // mean number of source records
};

struct LabelledRecord {
  PersonRecord record;
  std::string true_person;  // ground truth: the person the record belongs to
  std::string facility;     // V.. village clinic, T.. township, C0 county
};

// Records in arrival order (shuffled), each with its true person id.
std::vector<LabelledRecord> GeneratePopulation(const PopulationOptions& options);

// CSV with header record_id,person_id,facility,name,sex,birth_date,
// id_number,phone,address (fields never contain commas or quotes).
std::string ToCsv(const std::vector<LabelledRecord>& records);

}  // namespace hie::empi::tools
